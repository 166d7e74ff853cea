/**
 * @module The stack's API gateway, in the role Kong plays under `supabase
 * start`: one port for `/functions/v1/<name>/*` (proxied to the function's
 * process, which sees `/<name>/*`), `/storage/v1/*` (the Storage-API double,
 * prefix stripped), `/auth/v1/.well-known/jwks.json`, and the example page
 * under `/examples/web/`.
 *
 * API keys are handled as the platform's gateway handles them (see
 * {@link GatewayKeys}): toward Storage and Auth an `apikey: sb_...` with no
 * user `Authorization` becomes that role's JWT; a secret key from a browser is
 * refused 401 on every route; with legacy keys disabled the anon and
 * service_role JWTs are refused 401. Functions get the request's own headers.
 */
import { join, normalize } from "node:path";
import type { FunctionsHost } from "./functions.ts";

/** What the gateway routes to. */
export interface GatewayOptions {
  functions: FunctionsHost;
  storage: (req: Request) => Promise<Response>;
  jwks: unknown;
  /** Folder served at `/examples/web/` (optional). */
  examplesDir?: string;
  /** The auth server, mounted at `/auth/v1/*` with the prefix stripped (optional). */
  auth?: (req: Request) => Promise<Response>;
  /** The project's API keys (optional: without them headers pass through untouched). */
  keys?: GatewayKeys;
}

/** The API keys the gateway knows, as the platform's gateway knows a project's keys. */
export interface GatewayKeys {
  /** `sb_publishable_...`: stands for role `anon`. */
  publishable: string;
  /** `sb_secret_...`: stands for role `service_role`; never accepted from a browser. */
  secret: string;
  /** The legacy anon and service_role JWTs of the project. */
  legacy: { anon: string; serviceRole: string };
  /** False when the project's legacy keys are disabled: they are refused 401. */
  legacyEnabled: boolean;
  /** Mints the short-lived JWT of a role, sent upstream in place of an `sb_` key. */
  roleToken(role: "anon" | "service_role"): Promise<string>;
}

const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "host",
  "proxy-connection",
];

function json(status: number, body: unknown, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".map": "application/json",
};

async function serveStatic(root: string, rest: string): Promise<Response> {
  const relative = normalize(decodeURIComponent(rest || "/index.html")).replace(
    /^(\.\.(\/|$))+/,
    "",
  );
  const path = join(root, relative.endsWith("/") ? relative + "index.html" : relative);
  if (!path.startsWith(root)) {
    return json(404, { error: { code: "not_found", message: "Not found" } });
  }
  try {
    const file = await Deno.open(path, { read: true });
    const ext = path.slice(path.lastIndexOf("."));
    return new Response(file.readable, {
      headers: {
        "content-type": CONTENT_TYPES[ext] ?? "application/octet-stream",
        "cache-control": "no-cache",
      },
    });
  } catch {
    return json(404, {
      error: { code: "not_found", message: `No file "${relative}" in the example` },
    });
  }
}

async function proxyToFunction(
  functions: FunctionsHost,
  name: string,
  req: Request,
  rest: string,
): Promise<Response> {
  if (!functions.has(name)) {
    return json(404, { code: "NOT_FOUND", message: "Requested function was not found" });
  }
  let port: number;
  try {
    port = await functions.port(name);
  } catch (error) {
    return json(502, {
      code: "BOOT_ERROR",
      message: `Function "${name}" failed to start: ${(error as Error).message}`,
    });
  }
  const url = new URL(req.url);
  const target = `http://127.0.0.1:${port}/${name}${rest}${url.search}`;
  const headers = new Headers(req.headers);
  for (const h of HOP_BY_HOP) headers.delete(h);
  headers.set("x-forwarded-host", url.host);
  headers.set("x-forwarded-proto", url.protocol.replace(":", ""));
  try {
    const upstream = await fetch(target, {
      method: req.method,
      headers,
      body: req.method === "GET" || req.method === "HEAD"
        ? undefined
        : isSmall(req.headers)
        ? await req.arrayBuffer()
        : req.body,
      redirect: "manual",
      // @ts-ignore: duplex is required for streamed request bodies
      duplex: "half",
    });
    const body = NULL_BODY_STATUS.has(upstream.status) || req.method === "HEAD"
      ? null
      : isSmall(upstream.headers)
      ? await upstream.arrayBuffer()
      : upstream.body;
    return new Response(body, { status: upstream.status, headers: upstream.headers });
  } catch (error) {
    return json(502, {
      code: "FUNCTION_ERROR",
      message: `Function "${name}" did not answer: ${(error as Error).message}`,
    });
  }
}

/** Statuses whose responses carry no body (the Response constructor refuses one). */
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/** Bodies up to this size are passed on whole: piping a stream costs more for a few bytes. */
const SMALL_BODY = 64 * 1024;

/** Whether a message's body is declared, and small (a chunked or unsized body streams). */
function isSmall(headers: Headers): boolean {
  const length = headers.get("content-length");
  return length !== null && /^\d+$/.test(length) && Number(length) <= SMALL_BODY;
}

/**
 * The request with `prefix` taken off its path. Built field by field: copying
 * the request whole would read its `signal`, which makes Deno.serve warn that
 * the signal aborts on successful responses (legacy behavior).
 */
function stripPrefix(req: Request, prefix: string): Request {
  const url = new URL(req.url);
  url.pathname = url.pathname.slice(prefix.length) || "/";
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  return new Request(url, {
    method: req.method,
    headers: req.headers,
    body: hasBody ? req.body : undefined,
    redirect: req.redirect,
    // @ts-ignore: duplex is required for streamed request bodies
    duplex: "half",
  });
}

/** A 401 of the gateway, readable by a browser page (CORS). */
function json401(body: unknown): Response {
  return json(401, body, { "access-control-allow-origin": "*" });
}

/** Whether a request comes from a browser: it has an Origin, or a browser's User-Agent. */
export function isBrowserRequest(req: Request): boolean {
  return req.headers.has("origin") || /\bMozilla\//.test(req.headers.get("user-agent") ?? "");
}

function bearerOf(req: Request): string | null {
  return /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get("authorization") ?? "")?.[1] ?? null;
}

/**
 * What the platform's gateway does with a request's API keys before routing it.
 * @param translate true toward Storage and Auth: an `sb_` apikey without a user
 *   token becomes the role's JWT (an unknown `sb_` key is 401); false toward
 *   functions, which get the headers as sent
 * @returns the request to forward, or the 401 answer
 */
export async function applyApiKeys(
  req: Request,
  keys: GatewayKeys,
  translate: boolean,
): Promise<Request | Response> {
  const apikey = req.headers.get("apikey");
  const bearer = bearerOf(req);
  const presented = [apikey, bearer].filter((v): v is string => v !== null);
  if (presented.some((v) => v.startsWith("sb_secret_")) && isBrowserRequest(req)) {
    return json401({
      message: "Forbidden use of secret API key in browser",
      hint: "Secret API keys can only be used in a protected environment and should never be " +
        "used in a browser. Use a publishable key instead.",
    });
  }
  if (
    !keys.legacyEnabled &&
    presented.some((v) => v === keys.legacy.anon || v === keys.legacy.serviceRole)
  ) {
    return json401({
      message: "Legacy API keys are disabled",
      hint: "Your legacy API keys (anon, service_role) were disabled on the project. " +
        "Use the publishable or secret key instead.",
    });
  }
  if (!translate || apikey === null || !apikey.startsWith("sb_")) return req;
  const role = apikey === keys.publishable
    ? "anon"
    : apikey === keys.secret
    ? "service_role"
    : null;
  if (role === null) {
    return json401({
      message: "Invalid API key",
      hint: "Double check the provided API key as it is not valid",
    });
  }
  // A user's JWT stays; an absent Authorization or one carrying an API key gets the role's JWT.
  if (bearer !== null && !bearer.startsWith("sb_")) return req;
  const headers = new Headers(req.headers);
  headers.set("authorization", `Bearer ${await keys.roleToken(role)}`);
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  return new Request(req.url, {
    method: req.method,
    headers,
    body: hasBody ? req.body : undefined,
    redirect: req.redirect,
    // @ts-ignore: duplex is required for streamed request bodies
    duplex: "half",
  });
}

/** Builds the gateway's request handler. */
export function createGateway(options: GatewayOptions): (req: Request) => Promise<Response> {
  return async (original: Request): Promise<Response> => {
    const url = new URL(original.url);
    const path = url.pathname;
    let req = original;
    if (options.keys) {
      const upstream = path.startsWith("/storage/v1") || path.startsWith("/auth/v1");
      const applied = await applyApiKeys(original, options.keys, upstream);
      if (applied instanceof Response) return applied;
      req = applied;
    }
    if (path === "/auth/v1/.well-known/jwks.json") {
      return json(200, options.jwks, {
        "access-control-allow-origin": "*",
        "cache-control": "public, max-age=600",
      });
    }
    if (options.auth && (path === "/auth/v1" || path.startsWith("/auth/v1/"))) {
      return await options.auth(stripPrefix(req, "/auth/v1"));
    }
    const fn = path.match(/^\/functions\/v1\/([^/]+)(\/.*)?$/);
    if (fn) return await proxyToFunction(options.functions, fn[1], req, fn[2] ?? "");
    if (path === "/storage/v1" || path.startsWith("/storage/v1/")) {
      return await options.storage(stripPrefix(req, "/storage/v1"));
    }
    if (options.examplesDir && (path === "/examples/web" || path.startsWith("/examples/web/"))) {
      if (path === "/examples/web") return Response.redirect(new URL("/examples/web/", url), 302);
      return await serveStatic(options.examplesDir, path.slice("/examples/web".length));
    }
    return json(404, { message: "no Route matched with those values" });
  };
}
