/**
 * @module Test access to a running stack: its URLs and keys, fresh users with
 * real tokens, and a superuser SQL connection for setup and assertions.
 *
 * The stack is found through `STOWAGE_CREDENTIALS` (set by the test runner),
 * else `.stack/credentials.json` (a stack started by `npm start`).
 */
import postgres from "postgres";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { readCredentials, type StackCredentials } from "../../stack/credentials.ts";
import { loadKeys, signUserToken, type StackKeys } from "../../stack/keys.ts";

/** A user created for one test, with a valid access token. */
export interface TestUser {
  id: string;
  email: string;
  token: string;
}

let cached: Promise<StackCredentials> | undefined;
let keysCached: Promise<StackKeys> | undefined;

/** The running stack's credentials. */
export function stack(): Promise<StackCredentials> {
  cached ??= readCredentials(
    Deno.env.get("STOWAGE_CREDENTIALS") ??
      new URL("../../.stack/credentials.json", import.meta.url).pathname,
  );
  return cached;
}

async function keys(): Promise<StackKeys> {
  keysCached ??= stack().then((s) => loadKeys(s.keysFile));
  return await keysCached;
}

/** Base URL of a function, e.g. `functionUrl("storage")` -> `http://127.0.0.1:54321/functions/v1/storage`. */
export async function functionUrl(name: string): Promise<string> {
  return `${(await stack()).url}/functions/v1/${name}`;
}

/**
 * Opens a superuser (`supabase_admin`) connection. Close it with `await sql.end()`.
 * Tests use it for setup and to check state; app code never connects so.
 */
export async function adminSql(): Promise<postgres.Sql> {
  return postgres((await stack()).adminDbUrl, { max: 4, onnotice: () => {} });
}

/** Mints an access token for any user id (negative `expiresIn` gives an expired one). */
export async function tokenFor(
  sub: string,
  options: { email?: string; role?: string; expiresIn?: number } = {},
): Promise<string> {
  const s = await stack();
  return await signUserToken(await keys(), { sub, issuerUrl: s.url, ...options });
}

/**
 * Creates a user in `auth.users` (optionally on a plan, when `stowage.user_plans` exists)
 * and returns it with a one-hour token.
 */
export async function createUser(
  options: { email?: string; plan?: string } = {},
): Promise<TestUser> {
  const id = crypto.randomUUID();
  const email = options.email ?? `user-${id.slice(0, 8)}@test.example`;
  const sql = await adminSql();
  try {
    await sql`insert into auth.users (id, email, aud, role) values (${id}, ${email}, 'authenticated', 'authenticated')`;
    if (options.plan) {
      await sql`select stowage.set_plan(${id}::uuid, ${options.plan})`;
    }
  } finally {
    await sql.end();
  }
  return { id, email, token: await tokenFor(id, { email }) };
}

/** A supabase-js client with the publishable key, acting as a user when given a token. */
export async function client(token?: string): Promise<SupabaseClient> {
  const s = await stack();
  return createClient(s.url, s.publishableKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: token ? { headers: { Authorization: `Bearer ${token}` } } : {},
  });
}

/** A supabase-js client with the secret key (a backend; role service_role at Storage). */
export async function serviceClient(): Promise<SupabaseClient> {
  const s = await stack();
  return createClient(s.url, s.secretKey, {
    auth: { persistSession: false, autoRefreshToken: false },
  });
}

/**
 * The key a backend calls the functions with: the secret key (`sb_secret_...`),
 * which works whether or not the stack's legacy keys are enabled. Send it as the
 * `apikey` header (`tests/support/storage.ts`'s `api()` does so for any `sb_` key).
 */
export async function serviceKey(): Promise<string> {
  return (await stack()).secretKey;
}

/** Whether the running stack still accepts the legacy anon/service_role keys. */
export async function legacyKeysEnabled(): Promise<boolean> {
  return (await stack()).legacyKeysEnabled !== false;
}
