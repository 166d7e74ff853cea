/**
 * @module Who is calling, verified by `@supabase/server` (the gateway lets every
 * request through: `verify_jwt = false`). A backend presents a secret key in the
 * `apikey` header (auth mode `secret`: any of `SUPABASE_SECRET_KEYS`, or the legacy
 * service_role key while the project has it); a user presents their access token
 * (mode `user`, checked against `SUPABASE_JWKS`, else the project's JWKS endpoint).
 * A publishable (or anon) key alone is the app, not a user: 401. The library's
 * errors are answered by `errors.ts` (401 `unauthorized`, 503 `misconfigured`).
 *
 * What the library does not cover, kept here on purpose and small:
 * - a legacy service_role key sent as `Authorization: Bearer` (how backends called
 *   us before the new keys) is read as that key in the `apikey` header;
 * - with `LEGACY_JWT_SECRET` set, HS256 user tokens without a `kid` (a project not
 *   yet moved to JWT signing keys) are checked against it; the library only checks
 *   HS256 tokens whose key is in the JWKS.
 */
import { extractCredentials, verifyCredentials } from "@supabase/server/core";
import type { AuthResult, JWTClaims, SupabaseEnv } from "@supabase/server";
import { decodeProtectedHeader, jwtVerify } from "jose";
import { AppError } from "./app-error.ts";
import type { Config } from "./config.ts";

/** The claims of a verified user access token. */
export interface UserClaims extends JWTClaims {
  sub: string;
  role: "authenticated";
  exp: number;
  email?: string;
}

/**
 * Who is calling: a signed-in user, or a backend holding a secret key. `token` is
 * the credential this function sends to the Storage API for the caller: the user's
 * JWT, or the function's own service key (`sb_secret_...` goes as `apikey` only).
 */
export type Caller =
  | { kind: "user"; claims: UserClaims; token: string }
  | { kind: "service"; token: string };

/** Verifies a request's credentials and returns the caller, or throws 401. */
export type Verifier = (request: Request) => Promise<Caller>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Secret keys first (a backend sends its key in both headers), then users, then the app alone. */
const AUTH_MODES = ["secret:*", "user", "publishable:*"] as const;

type KeyConfig = Pick<
  Config,
  | "jwks"
  | "legacyJwtSecret"
  | "supabaseUrl"
  | "publishableKeys"
  | "secretKeys"
  | "anonKey"
  | "serviceRoleKey"
  | "serviceKey"
>;

/**
 * The library's view of the project: the new keys plus, while the project has
 * them, the legacy anon and service_role keys under their own names.
 */
export function serverEnv(config: KeyConfig): SupabaseEnv {
  return {
    url: config.supabaseUrl,
    publishableKeys: {
      ...config.publishableKeys,
      ...(config.anonKey ? { legacy_anon: config.anonKey } : {}),
    },
    secretKeys: {
      ...config.secretKeys,
      ...(config.serviceRoleKey ? { legacy_service_role: config.serviceRoleKey } : {}),
    },
    jwks: config.jwks as SupabaseEnv["jwks"] ??
      new URL(`${config.supabaseUrl}/auth/v1/.well-known/jwks.json`),
  };
}

/** Options of {@link createVerifier}. */
export interface VerifierOptions {
  /**
   * How long a user token's verification is remembered, in milliseconds (default 60 s; 0
   * turns the cache off). Never past the token's own `exp`.
   */
  cacheMs?: number;
  /** Most tokens remembered at once (default 10,000; the oldest go first). */
  cacheSize?: number;
  /** The clock (tests). */
  now?: () => number;
}

/**
 * Builds the verifier of one function instance.
 *
 * A user's access token is verified once and its caller remembered for a short while
 * (`cacheMs`, never past the token's `exp`): a browser sends the same token on every request
 * for up to an hour, and checking its ES256 signature again each time (with the JWKS key
 * imported afresh, as the library does for an inline JWKS) was a third of this function's CPU
 * per request. The cache holds only what a full verification returned for exactly that
 * token and `apikey`: a changed header, a different token or an expired one is verified in
 * full. Secret keys and failures are never remembered. The Storage server does the same with
 * `JWT_CACHING_ENABLED`; a signing key revoked from the JWKS stops being accepted within
 * `cacheMs`, as with the library's own JWKS cache.
 * @example const caller = await createVerifier(config)(c.req.raw);
 */
export function createVerifier(config: KeyConfig, options: VerifierOptions = {}): Verifier {
  const env = serverEnv(config);
  const legacySecret = config.legacyJwtSecret
    ? new TextEncoder().encode(config.legacyJwtSecret)
    : null;
  const cache = new VerifiedTokens(
    options.cacheMs ?? 60_000,
    options.cacheSize ?? 10_000,
    options.now ?? Date.now,
  );

  const verifyInFull = async (credentials: Credentials): Promise<Caller> => {
    if (legacySecret && credentials.token && isLegacyUserToken(credentials.token)) {
      return await legacyUser(credentials.token, legacySecret);
    }
    const { data, error } = await verifyCredentials(credentials, {
      auth: [...AUTH_MODES],
      env,
    });
    if (error) throw error;
    return callerOf(data, config.serviceKey);
  };

  return async (request) => {
    const credentials = extractCredentials(request);
    if (
      config.serviceRoleKey && credentials.token !== null &&
      constantTimeEqual(credentials.token, config.serviceRoleKey) &&
      (credentials.apikey === null || credentials.apikey === credentials.token)
    ) {
      credentials.apikey = credentials.token;
      credentials.token = null;
    }
    const remembered = cache.get(credentials);
    if (remembered) return remembered;
    const caller = await verifyInFull(credentials);
    cache.put(credentials, caller);
    return caller;
  };
}

type Credentials = ReturnType<typeof extractCredentials>;

/** The user callers verified lately, by `apikey` and token (see {@link createVerifier}). */
class VerifiedTokens {
  #entries = new Map<string, { caller: Caller; until: number }>();

  constructor(
    private ttlMs: number,
    private size: number,
    private now: () => number,
  ) {}

  #key(credentials: Credentials): string | null {
    if (this.ttlMs <= 0 || !credentials.token) return null;
    return `${credentials.apikey ?? ""}\n${credentials.token}`;
  }

  get(credentials: Credentials): Caller | null {
    const key = this.#key(credentials);
    const entry = key === null ? undefined : this.#entries.get(key);
    if (!entry) return null;
    if (this.now() >= entry.until) {
      this.#entries.delete(key!);
      return null;
    }
    return entry.caller;
  }

  put(credentials: Credentials, caller: Caller): void {
    const key = this.#key(credentials);
    if (key === null || caller.kind !== "user") return;
    const until = Math.min(caller.claims.exp * 1000, this.now() + this.ttlMs);
    if (until <= this.now()) return;
    if (this.#entries.size >= this.size) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { caller: deepFreeze(caller), until });
  }
}

/** Freezes a caller and everything in it: a remembered caller is shared by requests. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

function callerOf(auth: AuthResult, serviceKey: string): Caller {
  if (auth.authMode === "secret") return { kind: "service", token: serviceKey };
  if (auth.authMode !== "user" || !auth.jwtClaims || !auth.token) {
    throw unauthorized(
      "Sign in: a publishable key identifies the app, not a user; send Authorization: Bearer <access token>",
    );
  }
  return userOf(auth.jwtClaims, auth.token);
}

function userOf(payload: JWTClaims, token: string): Caller {
  const role = payload.role;
  if (role === "anon") throw unauthorized("Sign in: the anonymous key is not a user");
  if (role !== "authenticated") throw unauthorized(`Sign in: role "${String(role)}" is refused`);
  if (typeof payload.sub !== "string" || !UUID.test(payload.sub)) {
    throw unauthorized("Send a user's access token: the token has no user id");
  }
  if (typeof payload.exp !== "number") {
    throw unauthorized("Send a user's access token: the token never expires");
  }
  return {
    kind: "user",
    token,
    claims: { ...payload, sub: payload.sub.toLowerCase(), role, exp: payload.exp },
  };
}

function isLegacyUserToken(token: string): boolean {
  try {
    const header = decodeProtectedHeader(token);
    return header.alg === "HS256" && header.kid === undefined;
  } catch {
    return false;
  }
}

async function legacyUser(token: string, secret: Uint8Array): Promise<Caller> {
  try {
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ["HS256"],
      requiredClaims: ["exp"],
    });
    return userOf(payload as JWTClaims, token);
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw unauthorized("Send a valid access token: its signature or claims are invalid", error);
  }
}

/** Compares two strings in time independent of where they differ (the webhook secret uses it). */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = new TextEncoder().encode(a);
  const right = new TextEncoder().encode(b);
  let diff = left.length ^ right.length;
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    diff |= (left[i] ?? 0) ^ (right[i] ?? 0);
  }
  return diff === 0;
}

function unauthorized(message: string, cause?: unknown): AppError {
  return new AppError("unauthorized", message, { cause });
}

/**
 * Requires a user caller. A secret key (a backend) is not a user: 401.
 * @throws AppError unauthorized
 */
export function requireUser(caller: Caller): Extract<Caller, { kind: "user" }> {
  if (caller.kind !== "user") {
    throw unauthorized("Send a user's access token: this route acts for a signed-in user");
  }
  return caller;
}

/**
 * Requires a secret key (admin routes). A user gets 403.
 * @throws AppError forbidden
 */
export function requireService(caller: Caller): Extract<Caller, { kind: "service" }> {
  if (caller.kind !== "service") {
    throw new AppError(
      "forbidden",
      "Use a secret key (apikey: sb_secret_...): this route is for administrators",
    );
  }
  return caller;
}
