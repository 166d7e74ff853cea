/**
 * @module Where the CLI finds the target project: `SUPABASE_URL` and
 * `SUPABASE_SERVICE_ROLE_KEY` from the environment, else the local stack's
 * credentials file (`STOWAGE_CREDENTIALS`, else `.stack/credentials.json` of this
 * checkout). The database URL is `--db-url`, else `STOWAGE_DB_URL`, else the stack's
 * `dbUrl`, but only when the API credentials also came from the stack: a hosted URL
 * is never paired with the local database.
 */
import { CliError } from "./errors.ts";

/** The target project. */
export interface Connection {
  url: string;
  serviceRoleKey: string;
  /** Postgres URL of the project's `postgres` login; null when none is known. */
  dbUrl: string | null;
  /** Where the values came from, for messages. */
  from: string;
}

/** Resolves the connection from an environment object and an optional `--db-url`. */
export async function resolveConnection(
  env: Record<string, string | undefined>,
  dbUrlFlag?: string,
): Promise<Connection> {
  const dbOverride = dbUrlFlag ?? env.STOWAGE_DB_URL ?? null;
  if (env.SUPABASE_URL || env.SUPABASE_SERVICE_ROLE_KEY) {
    if (!env.SUPABASE_URL || !env.SUPABASE_SERVICE_ROLE_KEY) {
      const missing = env.SUPABASE_URL ? "SUPABASE_SERVICE_ROLE_KEY" : "SUPABASE_URL";
      throw new CliError(
        "missing_config",
        `Set ${missing} too: SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY go together`,
      );
    }
    return {
      url: env.SUPABASE_URL,
      serviceRoleKey: env.SUPABASE_SERVICE_ROLE_KEY,
      dbUrl: dbOverride,
      from: "environment",
    };
  }
  const path = env.STOWAGE_CREDENTIALS ??
    new URL("../../.stack/credentials.json", import.meta.url).pathname;
  let creds: { url?: string; serviceRoleKey?: string; dbUrl?: string };
  try {
    creds = JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    throw new CliError(
      "missing_config",
      `Cannot find the target project: set SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY, or start the local stack (no readable "${path}")`,
      { cause: error },
    );
  }
  if (!creds.url || !creds.serviceRoleKey) {
    throw new CliError("missing_config", `Credentials file "${path}" lacks url or serviceRoleKey`);
  }
  return {
    url: creds.url,
    serviceRoleKey: creds.serviceRoleKey,
    dbUrl: dbOverride ?? creds.dbUrl ?? null,
    from: path,
  };
}
