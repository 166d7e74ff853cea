/**
 * @module Puts the Supabase baseline and the project's migrations into a fresh
 * cluster: baseline SQL (`stack/baseline/*.sql`, as superuser supabase_admin),
 * then the real `supabase db push --include-seed` connected as the
 * non-superuser `postgres`, exactly as a hosted project receives them.
 */
import postgres from "postgres";
import { join } from "node:path";

/** Connection URLs of the stack's database, one per login. */
export interface DatabaseUrls {
  admin: string;
  postgres: string;
  storage: string;
}

/** The URLs for a cluster on `port` (every login's password is `postgres`, as under `supabase start`). */
export function databaseUrls(port: number): DatabaseUrls {
  const url = (user: string) => `postgresql://${user}:postgres@127.0.0.1:${port}/postgres`;
  return {
    admin: url("supabase_admin"),
    postgres: url("postgres"),
    storage: url("supabase_storage_admin"),
  };
}

/** Applies every `*.sql` file of `dir`, in name order, as the admin login. */
export async function applyBaseline(adminUrl: string, dir: string): Promise<void> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".sql")) files.push(entry.name);
  }
  files.sort();
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    for (const file of files) {
      const text = await Deno.readTextFile(join(dir, file));
      try {
        await sql.unsafe(text);
      } catch (error) {
        throw new Error(`Baseline ${file} failed: ${(error as Error).message}`, { cause: error });
      }
    }
  } finally {
    await sql.end();
  }
}

/**
 * Runs `supabase db push --remote=<postgresUrl> --include-seed` from `projectDir`.
 * @throws Error with the CLI's output when it fails
 */
export async function pushMigrations(projectDir: string, postgresUrl: string): Promise<string> {
  const out = await new Deno.Command("supabase", {
    // `--remote=<url>`: CLI 3's form (`--db-url` is deprecated and goes in v4).
    args: ["db", "push", `--remote=${postgresUrl}`, "--include-seed", "--yes"],
    cwd: projectDir,
    env: { SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`supabase db push failed:\n${text}`);
  return text;
}
