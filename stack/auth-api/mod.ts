/**
 * @module The local stack's auth server, in the role GoTrue plays under
 * `supabase start` (mounted at `/auth/v1`): email sign-up (confirmed at
 * once), the password and refresh-token grants, `GET /user`, `POST /logout`,
 * with GoTrue's tables, answers and error codes, enough for supabase-js Auth.
 * Not served: OTP, magic links, OAuth providers, MFA, admin endpoints, rate limits.
 */
import postgres from "postgres";
import type { JWK } from "jose";
import type { AuthConfig } from "./config.ts";
import { AuthError, errorResponse, OAuthError } from "./errors.ts";
import {
  AUDIENCE,
  type AuthContext,
  type ClientInfo,
  issueSession,
  passwordGrant,
  refreshGrant,
  signUp,
} from "./grants.ts";
import { BearerVerifier } from "./session-auth.ts";
import * as store from "./store.ts";
import { AccessTokenSigner } from "./tokens.ts";
import { userJson } from "./user-json.ts";

/** How to build the auth server. */
export interface AuthApiOptions {
  /** `supabase_auth_admin`'s URL (GoTrue's own login). */
  databaseUrl: string;
  /** The private ES256 JWK (with `kid`) that signs access tokens. */
  signingKey: JWK;
  jwks: { keys: unknown[] };
  legacyJwtSecret: string;
  /** `<API URL>/auth/v1`: the `iss` of every token. */
  issuer: string;
  config: AuthConfig;
}

/** A running auth server. */
export interface AuthApi {
  /** Handles a request whose path is relative to `/auth/v1` (e.g. `/token`). */
  handler: (req: Request) => Promise<Response>;
  /** Signs a user in without a password (a new session), e.g. for the dev users' printed tokens. */
  signInAs(email: string): Promise<{ access_token: string; refresh_token: string }>;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

const CORS = {
  "access-control-allow-origin": "*",
  "access-control-expose-headers": "x-sb-error-code, x-supabase-api-version",
};

function json(status: number, body: unknown, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

async function readBody(req: Request): Promise<Record<string, unknown>> {
  const raw = await req.arrayBuffer();
  if (raw.byteLength > MAX_BODY_BYTES) {
    throw new AuthError(
      413,
      "request_entity_too_large",
      `Request body too large (max ${MAX_BODY_BYTES} bytes)`,
    );
  }
  const text = new TextDecoder().decode(raw);
  let body: unknown;
  try {
    body = JSON.parse(text === "" ? "{}" : text);
  } catch (error) {
    throw new AuthError(
      400,
      "bad_json",
      `Could not parse request body as JSON: ${(error as Error).message}`,
    );
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw new AuthError(400, "bad_json", "Could not parse request body as JSON: not an object");
  }
  return body as Record<string, unknown>;
}

function clientOf(req: Request): ClientInfo {
  const forwarded = req.headers.get("x-forwarded-for")?.split(",")[0]?.trim();
  const ip = forwarded && /^[0-9a-fA-F:.]+$/.test(forwarded) ? forwarded : null;
  return { userAgent: req.headers.get("user-agent"), ip };
}

function withCors(res: Response): Response {
  for (const [k, v] of Object.entries(CORS)) res.headers.set(k, v);
  return res;
}

/** Builds the auth server; close it to end its database pool. */
export function createAuthApi(options: AuthApiOptions): AuthApi {
  const sql = postgres(options.databaseUrl, {
    max: 5,
    onnotice: () => {},
    connection: { application_name: "stowage-auth" },
  });
  const ctx: AuthContext = {
    sql,
    config: options.config,
    signer: new AccessTokenSigner(options.signingKey, options.issuer),
  };
  const bearer = new BearerVerifier(options.jwks, options.legacyJwtSecret);

  async function route(req: Request, path: string): Promise<Response> {
    const url = new URL(req.url);
    const method = req.method;
    if (path === "/health" && method === "GET") {
      return json(200, {
        version: "stowage-local",
        name: "GoTrue",
        description: "Stowage local auth",
      });
    }
    if (path === "/signup" && method === "POST") {
      return json(200, await signUp(ctx, await readBody(req), clientOf(req)));
    }
    if (path === "/token" && method === "POST") {
      const grant = url.searchParams.get("grant_type");
      const body = await readBody(req);
      if (grant === "password") return json(200, await passwordGrant(ctx, body, clientOf(req)));
      if (grant === "refresh_token") {
        return json(200, await refreshGrant(ctx, body, clientOf(req)));
      }
      throw new AuthError(400, "invalid_credentials", "unsupported_grant_type");
    }
    if (path === "/user" && method === "GET") {
      const caller = await bearer.verify(sql, req);
      if (caller.claims.aud !== AUDIENCE) {
        throw new AuthError(
          400,
          "validation_failed",
          "Token audience doesn't match request audience",
        );
      }
      return json(200, userJson(caller.user, await store.identitiesOf(sql, caller.user.id)));
    }
    if (path === "/logout" && method === "POST") {
      const scope = url.searchParams.get("scope") ?? "";
      if (!["", "global", "local", "others"].includes(scope)) {
        throw new AuthError(400, "validation_failed", `Unsupported logout scope "${scope}"`);
      }
      const caller = await bearer.verify(sql, req);
      await store.deleteSessions(
        sql,
        (scope || "global") as "global" | "local" | "others",
        caller.user.id,
        caller.sessionId,
      );
      return new Response(null, { status: 204 });
    }
    if (["/signup", "/token", "/user", "/logout", "/health"].includes(path)) {
      throw new AuthError(405, "method_not_allowed", `Method ${method} is not allowed on ${path}`);
    }
    throw new AuthError(404, "not_found", `This local stack does not serve /auth/v1${path}`);
  }

  async function handler(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname.replace(/\/+$/, "") || "/";
    if (req.method === "OPTIONS") {
      return new Response(null, {
        status: 204,
        headers: {
          ...CORS,
          "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
          "access-control-allow-headers": req.headers.get("access-control-request-headers") ??
            "authorization, apikey, content-type, x-client-info, x-supabase-api-version",
          "access-control-max-age": "3600",
        },
      });
    }
    try {
      return withCors(await route(req, path));
    } catch (error) {
      if (error instanceof AuthError || error instanceof OAuthError) {
        return withCors(errorResponse(req, error));
      }
      console.error(`auth: ${req.method} ${path}: ${(error as Error).stack ?? error}`);
      return withCors(
        errorResponse(req, new AuthError(500, "unexpected_failure", "Unexpected failure")),
      );
    }
  }

  return {
    handler,
    async signInAs(email) {
      const user = await store.findUserByEmail(sql, email, AUDIENCE);
      if (!user) throw new Error(`No user "${email}" in auth.users`);
      const res = await issueSession(ctx, user, { userAgent: "stowage-stack", ip: null });
      return res as { access_token: string; refresh_token: string };
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
