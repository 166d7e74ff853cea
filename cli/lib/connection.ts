/**
 * @module Where the CLI finds the target project: `SUPABASE_URL` and a secret key
 * from the environment (`SUPABASE_SECRET_KEY`, `sb_secret_...`; the legacy
 * `SUPABASE_SERVICE_ROLE_KEY` is still accepted), else the local stack's
 * credentials file (`STOWAGE_CREDENTIALS`, else `.stack/credentials.json` of this
 * checkout). The database URL is `--db-url`, else `STOWAGE_DB_URL`, else the stack's
 * `dbUrl`, but only when the API credentials also came from the stack: a hosted URL
 * is never paired with the local database.
 */
import { CliError } from "./errors.ts";

/** The target project. */
export interface Connection {
  url: string;
  /** The key backends use: a secret key (`sb_secret_...`) or a legacy service_role JWT. */
  secretKey: string;
  /** Postgres URL of the project's `postgres` login; null when none is known. */
  dbUrl: string | null;
  /** Where the values came from, for messages. */
  from: string;
}

/**
 * The headers that authenticate a Storage-API request with a backend's key: a
 * secret key goes in `apikey` only (it is not a JWT; the platform's gateway turns
 * it into the service_role token and refuses it as a Bearer), a legacy
 * service_role JWT in both headers as before.
 */
export function storageAuthHeaders(key: string): Record<string, string> {
  return key.startsWith("sb_") ? { apikey: key } : { authorization: `Bearer ${key}`, apikey: key };
}

/** Resolves the connection from an environment object and an optional `--db-url`. */
export async function resolveConnection(
  env: Record<string, string | undefined>,
  dbUrlFlag?: string,
): Promise<Connection> {
  const dbOverride = dbUrlFlag ?? env.STOWAGE_DB_URL ?? null;
  const envKey = env.SUPABASE_SECRET_KEY || env.SUPABASE_SERVICE_ROLE_KEY;
  if (env.SUPABASE_URL || envKey) {
    if (!env.SUPABASE_URL || !envKey) {
      const missing = env.SUPABASE_URL
        ? "SUPABASE_SECRET_KEY (or the legacy SUPABASE_SERVICE_ROLE_KEY)"
        : "SUPABASE_URL";
      throw new CliError(
        "missing_config",
        `Set ${missing} too: SUPABASE_URL and SUPABASE_SECRET_KEY go together`,
      );
    }
    if (envKey.startsWith("sb_publishable_")) {
      throw new CliError(
        "missing_config",
        "Set SUPABASE_SECRET_KEY to a secret key (sb_secret_...): a publishable key cannot migrate files",
      );
    }
    return { url: env.SUPABASE_URL, secretKey: envKey, dbUrl: dbOverride, from: "environment" };
  }
  const path = env.STOWAGE_CREDENTIALS ??
    new URL("../../.stack/credentials.json", import.meta.url).pathname;
  let creds: { url?: string; secretKey?: string; serviceRoleKey?: string; dbUrl?: string };
  try {
    creds = JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    throw new CliError(
      "missing_config",
      `Cannot find the target project: set SUPABASE_URL and SUPABASE_SECRET_KEY, or start the local stack (no readable "${path}")`,
      { cause: error },
    );
  }
  const key = creds.secretKey ?? creds.serviceRoleKey;
  if (!creds.url || !key) {
    throw new CliError("missing_config", `Credentials file "${path}" lacks url or secretKey`);
  }
  return { url: creds.url, secretKey: key, dbUrl: dbOverride ?? creds.dbUrl ?? null, from: path };
}
