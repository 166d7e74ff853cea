/**
 * @module GoTrue's `requireAuthentication` for `/user` and `/logout`: a
 * Bearer token verified against the stack's keys (ES256 by `kid`, HS256 with
 * the legacy secret), its user and its session looked up.
 */
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { AuthError } from "./errors.ts";
import * as store from "./store.ts";

/** The verified caller of `/user` or `/logout`. */
export interface Caller {
  user: store.UserRow;
  /** Null when the token has no `session_id` claim. */
  sessionId: string | null;
  claims: Record<string, unknown>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Verifies bearer tokens the way GoTrue does. */
export class BearerVerifier {
  #jwks: ReturnType<typeof createLocalJWKSet>;
  #legacy: Uint8Array;

  constructor(jwks: { keys: unknown[] }, legacyJwtSecret: string) {
    this.#jwks = createLocalJWKSet(jwks as JSONWebKeySet);
    this.#legacy = new TextEncoder().encode(legacyJwtSecret);
  }

  /**
   * @throws AuthError 401 `no_authorization` without a Bearer token; 403
   * `bad_jwt`, `user_not_found` or `session_not_found` as GoTrue answers
   */
  async verify(sql: store.Sql, req: Request): Promise<Caller> {
    const match = (req.headers.get("authorization") ?? "").match(/^\s*bearer\s+(\S+)\s*$/i);
    if (!match) {
      throw new AuthError(401, "no_authorization", "This endpoint requires a valid Bearer token");
    }
    let claims: Record<string, unknown>;
    try {
      const header = JSON.parse(atob(match[1].split(".")[0].replace(/-/g, "+").replace(/_/g, "/")));
      const result = header.kid
        ? await jwtVerify(match[1], this.#jwks, { algorithms: ["ES256", "RS256"] })
        : await jwtVerify(match[1], this.#legacy, { algorithms: ["HS256"] });
      claims = result.payload as Record<string, unknown>;
    } catch (error) {
      throw new AuthError(
        403,
        "bad_jwt",
        `invalid JWT: unable to parse or verify signature, ${(error as Error).message}`,
      );
    }
    const sub = typeof claims.sub === "string" ? claims.sub : "";
    if (sub === "") throw new AuthError(403, "bad_jwt", "invalid claim: missing sub claim");
    if (!UUID.test(sub)) {
      throw new AuthError(400, "bad_jwt", "invalid claim: sub claim must be a UUID");
    }
    const user = await store.findUserById(sql, sub);
    if (!user) {
      throw new AuthError(403, "user_not_found", "User from sub claim in JWT does not exist");
    }
    const sid = typeof claims.session_id === "string" ? claims.session_id : "";
    let sessionId: string | null = null;
    if (sid !== "" && sid !== store.NIL_INSTANCE) {
      if (!UUID.test(sid)) {
        throw new AuthError(403, "bad_jwt", "invalid claim: session_id claim must be a UUID");
      }
      if (!(await store.findSession(sql, sid))) {
        throw new AuthError(
          403,
          "session_not_found",
          "Session from session_id claim in JWT does not exist",
        );
      }
      sessionId = sid;
    }
    if (user.banned_until && user.banned_until > new Date()) {
      throw new AuthError(403, "user_banned", "User is banned");
    }
    return { user, sessionId, claims };
  }
}
