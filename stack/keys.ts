/**
 * @module Signing keys and tokens of the local stack, shaped as a current
 * `supabase start` issues them: the fixed local publishable and secret API
 * keys, an ES256 key with a `kid` for user access tokens (published as JWKS)
 * and a legacy HS256 secret for the anon and service_role API keys.
 */
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";

/**
 * The publishable key `supabase start` (CLI 3.1) prints for every local
 * project: public, fine in browsers (acts as role `anon`).
 */
export const LOCAL_PUBLISHABLE_KEY = "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH";

/**
 * The secret key `supabase start` prints for every local project: backends only
 * (acts as role `service_role`; the gateway refuses it from a browser).
 */
export const LOCAL_SECRET_KEY = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz";

/** The keys of one local stack, as stored in `<stack dir>/keys.json`. */
export interface StackKeys {
  /** HS256 secret that signs the anon and service_role keys (and verifies them). */
  legacyJwtSecret: string;
  /** Private ES256 JWK (with `kid`, `alg`) that signs user access tokens. */
  signingKey: JWK;
  /** Public JWKS served at `/auth/v1/.well-known/jwks.json`. */
  jwks: { keys: JWK[] };
}

/** Claims of a user access token minted by {@link signUserToken}. */
export interface UserTokenOptions {
  /** The user's id (`auth.users.id`). */
  sub: string;
  email?: string;
  /** Defaults to `authenticated`. */
  role?: string;
  /** Seconds from now; negative gives an already expired token. Default 3600. */
  expiresIn?: number;
  /** Issuer base URL, e.g. `http://127.0.0.1:54321`. */
  issuerUrl?: string;
}

/**
 * Creates a fresh key set: a random 64-byte HS256 secret and an ES256 key pair.
 * @returns the keys, ready to be written to disk with {@link saveKeys}.
 */
export async function generateKeys(): Promise<StackKeys> {
  const secretBytes = crypto.getRandomValues(new Uint8Array(48));
  const legacyJwtSecret = btoa(String.fromCharCode(...secretBytes));
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const kid = crypto.randomUUID();
  const signingKey = { ...(await exportJWK(privateKey)), kid, alg: "ES256", use: "sig" };
  const publicJwk = {
    ...(await exportJWK(publicKey)),
    kid,
    alg: "ES256",
    use: "sig",
    key_ops: ["verify"],
  };
  return { legacyJwtSecret, signingKey, jwks: { keys: [publicJwk] } };
}

/** Reads `keys.json` from a stack directory. */
export async function loadKeys(path: string): Promise<StackKeys> {
  return JSON.parse(await Deno.readTextFile(path)) as StackKeys;
}

/** Writes `keys.json` (mode 0600). */
export async function saveKeys(path: string, keys: StackKeys): Promise<void> {
  await Deno.writeTextFile(path, JSON.stringify(keys, null, 2), { mode: 0o600 });
}

/** Loads the keys at `path`, creating and saving them first when the file is missing. */
export async function loadOrCreateKeys(path: string): Promise<StackKeys> {
  try {
    return await loadKeys(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    const keys = await generateKeys();
    await saveKeys(path, keys);
    return keys;
  }
}

/**
 * Signs an API key (anon or service_role) with the legacy HS256 secret, as
 * `supabase start` does: `{iss: "supabase-demo", role, exp}` ten years ahead.
 */
export async function signApiKey(keys: StackKeys, role: "anon" | "service_role"): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return await new SignJWT({ iss: "supabase-demo", role })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(now)
    .setExpirationTime(now + 10 * 365 * 24 * 3600)
    .sign(new TextEncoder().encode(keys.legacyJwtSecret));
}

/**
 * Signs the short-lived role token the gateway sends to the Storage API in place
 * of an `sb_` API key (as the platform's gateway does): `{role, iss}`, ES256 with
 * the stack's `kid`, so it verifies even when the legacy secret is disabled.
 */
export async function signRoleToken(
  keys: StackKeys,
  role: "anon" | "service_role",
  issuerUrl = "http://127.0.0.1:54321",
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const key = await importJWK(keys.signingKey, "ES256");
  return await new SignJWT({ role })
    .setProtectedHeader({ alg: "ES256", kid: keys.signingKey.kid, typ: "JWT" })
    .setIssuer(`${issuerUrl}/auth/v1`)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(key);
}

/**
 * Signs a user access token with the ES256 key, with the claims GoTrue puts in one.
 * @example await signUserToken(keys, { sub: user.id, email: user.email, expiresIn: -60 })
 */
export async function signUserToken(keys: StackKeys, options: UserTokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const key = await importJWK(keys.signingKey, "ES256");
  const issuer = `${options.issuerUrl ?? "http://127.0.0.1:54321"}/auth/v1`;
  return await new SignJWT({
    aud: "authenticated",
    sub: options.sub,
    email: options.email ?? "",
    phone: "",
    app_metadata: { provider: "email", providers: ["email"] },
    user_metadata: {},
    role: options.role ?? "authenticated",
    aal: "aal1",
    amr: [{ method: "password", timestamp: now }],
    session_id: crypto.randomUUID(),
    is_anonymous: false,
  })
    .setProtectedHeader({ alg: "ES256", kid: keys.signingKey.kid, typ: "JWT" })
    .setIssuer(issuer)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 3600))
    .sign(key);
}
