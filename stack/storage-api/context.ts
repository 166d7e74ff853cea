/**
 * @module Per-request context of the Storage-API double: authentication as the real
 * server's jwt plugin does it, the DB scopes derived from it, JSON bodies (Fastify's
 * parser rules) and response helpers.
 */
import { bearerToken, joseMessage, type RequestClaims, type Tokens } from "./auth.ts";
import type { Db, Scope } from "./db.ts";
import type { Disk } from "./disk.ts";
import { ERRORS, StorageError } from "./errors.ts";
import { check, type Shape } from "./validate.ts";

/** Settings and services shared by all requests. */
export interface Api {
  db: Db;
  disk: Disk;
  tokens: Tokens;
  /** The server's own service key: `request.jwt` of superuser work. */
  serviceKey: string;
  uploadSignedUrlExpirationSeconds: number;
  fileSizeLimit: number;
}

/** Who the request acts as. */
export interface Caller {
  role: string;
  jwt: string;
  claims: RequestClaims;
  /** `sub` or `''`. */
  sub: string;
  /** True when a valid JWT was presented. */
  verified: boolean;
}

const JSON_LIMIT = 1024 * 1024;

/** One request being served. */
export class Ctx {
  readonly url: URL;
  readonly method: string;
  readonly headers: Record<string, string> = {};
  caller: Caller = { role: "anon", jwt: "", claims: { role: "anon" }, sub: "", verified: false };
  operation = "";

  constructor(readonly api: Api, readonly req: Request, readonly params: string[] = []) {
    this.url = new URL(req.url);
    this.method = req.method;
    req.headers.forEach((v, k) => (this.headers[k] = v));
  }

  /** Path plus query, as Fastify's `request.url`. */
  get rawUrl(): string {
    return this.url.pathname + this.url.search;
  }

  /** Query parameters. */
  query(name: string): string | null {
    return this.url.searchParams.get(name);
  }

  /** Fails as the `authorization` header schema does when the header is missing. */
  requireAuthHeader(): void {
    if (this.headers["authorization"] === undefined) {
      throw ERRORS.validation("headers must have required property 'authorization'");
    }
  }

  /** The jwt plugin: verifies the token; a bad one is 403 with jose's message. */
  async authenticate(): Promise<void> {
    const jwt = bearerToken(this.headers["authorization"] ?? "");
    let claims: RequestClaims;
    try {
      claims = await this.api.tokens.verify(jwt);
    } catch (e) {
      throw ERRORS.accessDenied(joseMessage(e));
    }
    const role = typeof claims.role === "string" && claims.role ? claims.role : "anon";
    const sub = typeof claims.sub === "string" ? claims.sub : "";
    this.caller = { role, jwt, claims, sub, verified: true };
  }

  /** `allowInvalidJwt` routes: a missing or bad token means anon. */
  async authenticateLeniently(): Promise<void> {
    if (!this.headers["authorization"]) return;
    try {
      await this.authenticate();
    } catch (e) {
      if (!(e instanceof StorageError)) throw e;
    }
  }

  /** The caller's DB scope. */
  userScope(): Scope {
    const c = this.caller;
    return {
      role: c.role,
      jwt: c.jwt,
      claims: c.claims as Record<string, unknown>,
      sub: c.sub,
      headers: this.headers,
      method: this.method,
      path: this.url.pathname,
      operation: this.operation,
    };
  }

  /** The superuser scope: role service_role, claims `{"role":"service_role"}`, sub `''`. */
  serviceScope(): Scope {
    return {
      role: "service_role",
      jwt: this.api.serviceKey,
      claims: { role: "service_role" },
      sub: "",
      headers: this.headers,
      method: this.method,
      path: this.url.pathname,
      operation: this.operation,
    };
  }

  /**
   * Reads a JSON body as Fastify 5's default parser does: other content types are not read
   * (undefined); a declared or actual size over 1 MiB is FST_ERR_CTP_BODY_TOO_LARGE (413);
   * an empty body is FST_ERR_CTP_EMPTY_JSON_BODY and unparsable text
   * FST_ERR_CTP_INVALID_JSON_BODY (400), each rendered by the server's error handler.
   */
  async json(): Promise<unknown> {
    const type = (this.headers["content-type"] ?? "").toLowerCase();
    if (!type.startsWith("application/json")) {
      await this.req.body?.cancel().catch(() => {});
      return undefined;
    }
    if (Number(this.headers["content-length"]) > JSON_LIMIT) throw ERRORS.bodyTooLarge();
    const chunks: Uint8Array[] = [];
    let size = 0;
    if (this.req.body) {
      for await (const chunk of this.req.body) {
        size += chunk.byteLength;
        if (size > JSON_LIMIT) throw ERRORS.bodyTooLarge();
        chunks.push(chunk);
      }
    }
    if (size === 0) {
      throw ERRORS.badJson(
        "FastifyError",
        "Body cannot be empty when content-type is set to 'application/json'",
      );
    }
    try {
      return JSON.parse(new TextDecoder().decode(concatAll(chunks, size)));
    } catch {
      throw ERRORS.badJson(
        "FastifyError",
        "Body is not valid JSON but content-type is set to 'application/json'",
      );
    }
  }

  /** Reads and checks a JSON body against a schema (`body ...` messages). */
  async body(shape: Shape): Promise<Record<string, unknown>> {
    return check(await this.json(), shape, "body");
  }
}

function concatAll(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** A JSON response as Fastify sends it. */
export function json(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  const text = JSON.stringify(body);
  const h = new Headers(headers);
  h.set("content-type", "application/json; charset=utf-8");
  h.set("content-length", String(new TextEncoder().encode(text).byteLength));
  return new Response(text, { status, headers: h });
}

/** ISO timestamp with milliseconds and `Z`, as fast-json-stringify writes a `Date`. */
export function iso(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return (value instanceof Date ? value : new Date(String(value))).toISOString();
}
