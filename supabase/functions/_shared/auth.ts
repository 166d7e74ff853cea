/**
 * @module Verifies the caller's JWT inside the function (the gateway lets every
 * request through: `verify_jwt = false`). Asymmetric tokens are checked against
 * the project's JWKS (`SUPABASE_JWKS`, else fetched from the Auth server and
 * cached); legacy HS256 tokens against `LEGACY_JWT_SECRET`. The answer is a
 * typed {@link Caller}: a user with claims, or the service role.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  type JWTPayload,
  jwtVerify,
} from "jose";
import { AppError } from "./app-error.ts";
import type { Config } from "./config.ts";

/** The claims of a verified user access token. */
export interface UserClaims extends JWTPayload {
  sub: string;
  role: "authenticated";
  exp: number;
  email?: string;
}

/** Who is calling: a signed-in user, or a backend holding the service-role key. */
export type Caller =
  | { kind: "user"; claims: UserClaims; token: string }
  | { kind: "service"; token: string };

/** Verifies an `Authorization` header value and returns the caller, or throws 401. */
export type Verifier = (authorization: string | undefined | null) => Promise<Caller>;

const ASYMMETRIC_ALGORITHMS = ["ES256", "RS256", "EdDSA", "ES384", "ES512", "RS384", "RS512"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const remoteJwksCache = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

type KeySet = ReturnType<typeof createLocalJWKSet> | ReturnType<typeof createRemoteJWKSet>;
type KeyConfig = Pick<Config, "jwks" | "legacyJwtSecret" | "supabaseUrl" | "serviceRoleKey">;

/**
 * Builds the verifier of one function instance (the JWKS is resolved once and cached).
 * @example const caller = await createVerifier(config)(c.req.header("authorization"));
 */
export function createVerifier(config: KeyConfig): Verifier {
  const jwks: KeySet = config.jwks
    ? createLocalJWKSet(config.jwks as Parameters<typeof createLocalJWKSet>[0])
    : remoteJwks(`${config.supabaseUrl}/auth/v1/.well-known/jwks.json`);
  const legacySecret = config.legacyJwtSecret
    ? new TextEncoder().encode(config.legacyJwtSecret)
    : null;

  return async (authorization) => {
    const token = bearerToken(authorization);
    // The function's own service-role key, whatever its form (`sb_secret_…`, or the legacy
    // HS256 JWT hosted projects still hand out): equality with the configured secret is the
    // proof, so it works even when LEGACY_JWT_SECRET is unset. Compared in constant time.
    if (constantTimeEqual(token, config.serviceRoleKey)) return { kind: "service", token };
    // Other API keys (`sb_publishable_…`, another `sb_secret_…`) are not JWTs and not users.
    if (token.startsWith("sb_")) throw unauthorized("Send a user's access token, not an API key");
    const payload = await verifyToken(token, jwks, legacySecret);
    return callerOf(payload, token);
  };
}

function remoteJwks(url: string): ReturnType<typeof createRemoteJWKSet> {
  let set = remoteJwksCache.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), { cacheMaxAge: 10 * 60_000, timeoutDuration: 5_000 });
    remoteJwksCache.set(url, set);
  }
  return set;
}

function bearerToken(authorization: string | undefined | null): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  if (!match) throw unauthorized("Send an access token: Authorization: Bearer <jwt>");
  return match[1];
}

async function verifyToken(
  token: string,
  jwks: KeySet,
  legacySecret: Uint8Array | null,
): Promise<JWTPayload> {
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch (cause) {
    throw unauthorized("Send a well-formed access token", cause);
  }
  try {
    if (alg === "HS256") {
      // Only when the project still has a legacy secret; never `alg: none`.
      if (!legacySecret) throw unauthorized("Send a token signed with the project's signing keys");
      return (await jwtVerify(token, legacySecret, {
        algorithms: ["HS256"],
        requiredClaims: ["exp"],
      })).payload;
    }
    if (!alg || !ASYMMETRIC_ALGORITHMS.includes(alg)) {
      throw unauthorized(`Send a signed access token (algorithm "${alg ?? "none"}" is refused)`);
    }
    return (await jwtVerify(token, jwks, {
      algorithms: ASYMMETRIC_ALGORITHMS,
      requiredClaims: ["exp"],
    }))
      .payload;
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (error instanceof joseErrors.JWKSTimeout || isNetworkError(error)) {
      throw new AppError(
        "misconfigured",
        "Cannot verify tokens: the signing keys are unreachable",
        {
          cause: error,
        },
      );
    }
    if (error instanceof joseErrors.JWTExpired) {
      throw unauthorized("Sign in again: the access token has expired", error);
    }
    throw unauthorized("Send a valid access token: its signature or claims are invalid", error);
  }
}

function callerOf(payload: JWTPayload, token: string): Caller {
  const role = payload.role;
  if (role === "service_role") return { kind: "service", token };
  if (role === "anon") throw unauthorized("Sign in: the anonymous key is not a user");
  if (role !== "authenticated") throw unauthorized(`Sign in: role "${String(role)}" is refused`);
  if (typeof payload.sub !== "string" || !UUID.test(payload.sub)) {
    throw unauthorized("Send a user's access token: the token has no user id");
  }
  return {
    kind: "user",
    token,
    claims: { ...payload, sub: payload.sub.toLowerCase(), role, exp: payload.exp! },
  };
}

function isNetworkError(error: unknown): boolean {
  return error instanceof TypeError || (error instanceof Error && error.name === "AbortError");
}

function unauthorized(message: string, cause?: unknown): AppError {
  return new AppError("unauthorized", message, { cause });
}

/** Compares two strings in time independent of where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = new TextEncoder().encode(a);
  const right = new TextEncoder().encode(b);
  let diff = left.length ^ right.length;
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    diff |= (left[i] ?? 0) ^ (right[i] ?? 0);
  }
  return diff === 0;
}

/**
 * Requires a user caller. An API key (service role) is not a user: 401.
 * @throws AppError unauthorized
 */
export function requireUser(caller: Caller): Extract<Caller, { kind: "user" }> {
  if (caller.kind !== "user") {
    throw unauthorized("Send a user's access token: this route acts for a signed-in user");
  }
  return caller;
}

/**
 * Requires the service role (admin routes). A user gets 403.
 * @throws AppError forbidden
 */
export function requireService(caller: Caller): Extract<Caller, { kind: "service" }> {
  if (caller.kind !== "service") {
    throw new AppError("forbidden", "Use the service-role key: this route is for administrators");
  }
  return caller;
}
