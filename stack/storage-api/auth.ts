/**
 * @module JWT handling of the Storage-API double: verification of request tokens
 * (legacy HS256 secret or ES256 JWKS by `kid`, as `src/internal/auth/jwt.ts`) and
 * the HS256 tokens of signed URLs.
 */
import {
  createLocalJWKSet,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyGetKey,
} from "jose";
import { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";

/** Algorithms a request token may use (anything else: `"alg" ... value not allowed`). */
const ALGORITHMS = ["HS256", "HS384", "HS512", "ES256", "RS256", "EdDSA"];

/** Claims the server reads from a request token. */
export interface RequestClaims extends JWTPayload {
  role?: string;
}

/** Payload of a signed-URL token (download or upload). */
export interface UrlTokenPayload extends JWTPayload {
  url?: string;
  owner?: string;
  upsert?: boolean;
  scope?: string;
  transformations?: string;
}

/** Strips an optional `Bearer ` prefix (any case), as `/^Bearer\s+/i` does. */
export function bearerToken(header: string): string {
  return header.replace(/^Bearer\s+/i, "");
}

/** Verifies and signs the tokens of one server instance. */
export class Tokens {
  readonly #secret: Uint8Array;
  readonly #getKey: JWTVerifyGetKey;

  /**
   * @param legacyJwtSecret HS256 secret (anon/service keys; signs URL tokens)
   * @param jwks public keys of user access tokens
   * @param legacyKeys false when the project's legacy keys are disabled: request
   *   tokens signed with the HS256 secret are refused (URL tokens still use it)
   */
  constructor(legacyJwtSecret: string, jwks: { keys: JsonWebKey[] }, legacyKeys = true) {
    if (!legacyJwtSecret) throw new Error("Tokens: legacyJwtSecret is required");
    this.#secret = new TextEncoder().encode(legacyJwtSecret);
    const local = createLocalJWKSet(jwks as unknown as JSONWebKeySet);
    const secret = this.#secret;
    this.#getKey = (header, token) => {
      if (!header.alg.startsWith("HS")) return local(header, token);
      if (!legacyKeys) throw new Error("Legacy API keys are disabled");
      return secret;
    };
  }

  /**
   * Verifies a request token.
   * @throws the jose error, whose message the routes pass to the client
   */
  async verify(token: string): Promise<RequestClaims> {
    const { payload } = await jwtVerify(token, this.#getKey, { algorithms: ALGORITHMS });
    return payload as RequestClaims;
  }

  /** Verifies a signed-URL token (HS256 with the legacy secret only). */
  async verifyUrlToken(token: string): Promise<UrlTokenPayload> {
    const { payload } = await jwtVerify(token, this.#secret, { algorithms: ["HS256"] });
    return payload as UrlTokenPayload;
  }

  /**
   * Signs a payload with the legacy secret, valid for `expiresIn` seconds. HS256 by
   * hand with node:crypto's synchronous HMAC, as the real server's jsonwebtoken does:
   * jose's WebCrypto path costs ~0.1 ms a token, which made bulk signing of 1000
   * paths several times slower here than on the real server (benchmarks compare it).
   */
  sign(payload: JWTPayload, expiresIn: number): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const head = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");
    const body = Buffer.from(JSON.stringify({ ...payload, iat: now, exp: now + expiresIn }))
      .toString("base64url");
    const signature = createHmac("sha256", this.#secret).update(`${head}.${body}`).digest(
      "base64url",
    );
    return Promise.resolve(`${head}.${body}.${signature}`);
  }
}

/** The message a jose error carries to the client. */
export function joseMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
