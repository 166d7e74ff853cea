/**
 * @module HTTP plumbing every function app shares: the app factory (one
 * validation hook), the one `onError`, the JSON 404, CORS and the body limit.
 * Validation failures and malformed JSON are 400 invalid_request, never 500.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, Env, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { AppError } from "./app-error.ts";
import { errorResponse } from "./errors.ts";

/** Largest JSON body accepted (1,000 paths of 900 bytes fit). */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

/** A zod issue as sent in `error.details.issues`. */
export interface Issue {
  path: string;
  message: string;
}

interface ZodLikeResult {
  success: boolean;
  error?: { issues: { path: PropertyKey[]; message: string }[] };
  target?: string;
}

/**
 * The one validation hook: turns a failed zod parse into 400 invalid_request
 * with the offending fields in `details.issues`.
 */
export function validationHook(result: ZodLikeResult, _c: Context): Response | undefined {
  if (result.success) return undefined;
  const issues: Issue[] = (result.error?.issues ?? []).slice(0, 20).map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.message,
  }));
  const where = result.target ? ` ${result.target}` : "";
  const first = issues[0] ? `: ${issues[0].path || "(root)"} ${issues[0].message}` : "";
  return errorResponse(
    new AppError("invalid_request", `Send a valid request${where}${first}`, {
      details: { issues },
    }),
  );
}

/**
 * Creates a (sub-)app with the shared validation hook. Mount sub-apps with
 * `app.route()` so their routes reach the OpenAPI document.
 */
export function createApi<E extends Env>(): OpenAPIHono<E> {
  // deno-lint-ignore no-explicit-any
  return new OpenAPIHono<E>({ defaultHook: validationHook as any });
}

/** The one error handler: every error becomes `{"error":{code,message,details}}`. */
export function onError(error: unknown, c: Context): Response {
  const response = errorResponse(error);
  // Keep the headers middleware already set (CORS) on the error answer.
  c.res.headers.forEach((value, key) => {
    if (key.startsWith("access-control-")) response.headers.set(key, value);
  });
  return response;
}

/** JSON 404 for unknown paths (and methods a path does not serve). */
export function notFound(c: Context): Response {
  return errorResponse(
    new AppError("not_found", `Cannot find route ${c.req.method} ${new URL(c.req.url).pathname}`),
  );
}

/** Refuses bodies over {@link MAX_BODY_BYTES} with 413 payload_too_large. */
export function limitBody(maxSize = MAX_BODY_BYTES): MiddlewareHandler {
  return bodyLimit({
    maxSize,
    onError: () =>
      errorResponse(
        new AppError("payload_too_large", `Send a request body of at most ${maxSize} bytes`),
      ),
  });
}

/**
 * Refuses a path that cannot be percent-decoded (`/positions/%FF`) with 400
 * invalid_path: Hono would pass such a segment on raw, so `%FF` and `%25FF`
 * would name the same id.
 */
export function decodablePath(): MiddlewareHandler {
  return async (c, next) => {
    try {
      decodeURIComponent(new URL(c.req.url).pathname);
    } catch {
      throw new AppError("invalid_path", "Send a path whose percent-escapes decode to UTF-8");
    }
    await next();
  };
}
