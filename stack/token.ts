/**
 * @module `deno task token <email> [--expires-in SECONDS]`: prints a fresh
 * access token for a user of the running local stack (negative values give an
 * already expired token, for tests).
 */
import { join, resolve } from "node:path";
import postgres from "postgres";
import { readCredentials } from "./credentials.ts";
import { loadKeys, signUserToken } from "./keys.ts";

// Parsed by hand: node:util's parseArgs takes "-60" for an option.
let email: string | undefined;
let expiresIn = 3600;
for (let i = 0; i < Deno.args.length; i++) {
  const arg = Deno.args[i];
  if (arg === "--expires-in") expiresIn = Number(Deno.args[++i]);
  else if (arg.startsWith("--expires-in=")) expiresIn = Number(arg.slice("--expires-in=".length));
  else if (!email) email = arg;
  else expiresIn = NaN;
}
if (!email || !Number.isInteger(expiresIn)) {
  console.error("usage: deno task token <email> [--expires-in SECONDS]");
  Deno.exit(2);
}
const projectDir = resolve(new URL("..", import.meta.url).pathname);
const path = Deno.env.get("STOWAGE_CREDENTIALS") ??
  join(resolve(projectDir, Deno.env.get("STOWAGE_STACK_DIR") ?? ".stack"), "credentials.json");
let credentials;
try {
  credentials = await readCredentials(path);
} catch {
  console.error(`No running stack found (${path}): start it with \`npm start\``);
  Deno.exit(1);
}
const sql = postgres(credentials.adminDbUrl, { max: 1, onnotice: () => {} });
try {
  const rows = await sql`select id::text from auth.users where lower(email) = lower(${email})`;
  if (rows.length === 0) {
    console.error(`No user "${email}" in auth.users`);
    Deno.exit(1);
  }
  const keys = await loadKeys(credentials.keysFile);
  console.log(
    await signUserToken(keys, { sub: rows[0].id, email, expiresIn, issuerUrl: credentials.url }),
  );
} finally {
  await sql.end();
}
