/**
 * @module The credentials file a running local stack writes
 * (`<stack dir>/credentials.json`) and everything that reads it.
 */

/** The dev users' password (set by supabase/seed.sql): local data only. */
export const DEV_PASSWORD = "password123";

/** One dev user of the stack, with its password and a fresh access token. */
export interface StackUser {
  email: string;
  id: string;
  plan: string;
  /** Signs in with `supabase.auth.signInWithPassword({ email, password })`. */
  password: string;
  /** An access token of a session opened at start-up (expires after `jwt_expiry`, 1 h). */
  accessToken: string;
}

/** What `npm start` prints and writes to `.stack/credentials.json`. */
export interface StackCredentials {
  /** Public API URL (gateway), e.g. `http://127.0.0.1:54321`. */
  url: string;
  /** `sb_publishable_...`: for browsers and apps (role anon), as `supabase start` prints it. */
  publishableKey: string;
  /** `sb_secret_...`: for backends only (role service_role); refused from a browser. */
  secretKey: string;
  /** Legacy anon JWT (HS256); refused everywhere when {@link legacyKeysEnabled} is false. */
  anonKey: string;
  /** Legacy service_role JWT (HS256); refused everywhere when {@link legacyKeysEnabled} is false. */
  serviceRoleKey: string;
  /** False under `STOWAGE_LEGACY_KEYS=off`: a project whose legacy keys are disabled. */
  legacyKeysEnabled: boolean;
  legacyJwtSecret: string;
  /** `postgresql://postgres:postgres@127.0.0.1:<port>/postgres`: the project owner (not a superuser). */
  dbUrl: string;
  /** The cluster superuser `supabase_admin`: for tests and the stack only, never for app code. */
  adminDbUrl: string;
  /** The Storage-API server's login, `supabase_storage_admin`. */
  storageDbUrl: string;
  assistantWebhookSecret: string;
  /** Absolute path of `keys.json` (private ES256 JWK, legacy secret, JWKS). */
  keysFile: string;
  /** Absolute path of the stack directory (`.stack/`). */
  stackDir: string;
  users: StackUser[];
}

/** Reads a credentials file. */
export async function readCredentials(path: string): Promise<StackCredentials> {
  return JSON.parse(await Deno.readTextFile(path)) as StackCredentials;
}
