/**
 * @module The stack's API gateway, in the role Kong plays under `supabase
 * start`: one port for `/functions/v1/<name>/*` (proxied to the function's
 * process, which sees `/<name>/*`), `/storage/v1/*` (the Storage-API double,
 * prefix stripped), `/auth/v1/.well-known/jwks.json`, and the example page
 * under `/examples/web/`.
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
      body: req.body,
      redirect: "manual",
      // @ts-ignore: duplex is required for streamed request bodies
      duplex: "half",
    });
    return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
  } catch (error) {
    return json(502, {
      code: "FUNCTION_ERROR",
      message: `Function "${name}" did not answer: ${(error as Error).message}`,
    });
  }
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

/** Builds the gateway's request handler. */
export function createGateway(options: GatewayOptions): (req: Request) => Promise<Response> {
  return async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const path = url.pathname;
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
