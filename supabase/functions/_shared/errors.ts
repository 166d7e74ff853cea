/**
 * @module One place that turns anything thrown (database, Storage API, Hono,
 * unknown) into an {@link AppError} and answers it as JSON with its real status.
 */
import { HTTPException } from "hono/http-exception";
import { AppError, errorBody } from "./app-error.ts";

export { AppError, ERROR_STATUS, type ErrorCode } from "./app-error.ts";
import { fromPostgresError, isPostgresError } from "./pg-errors.ts";
import { fromStorageError, isStorageError } from "./storage-errors.ts";
import { fromServerError, isServerError } from "./auth-errors.ts";

/**
 * Converts anything thrown into an AppError: AppErrors pass through; Postgres
 * errors go through the SQLSTATE table; Storage-API errors through their body
 * status; Hono HTTP exceptions (malformed JSON, body limits) keep their 4xx
 * status; anything else is an internal error (and a bug: logged by the caller).
 */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (isPostgresError(error)) return fromPostgresError(error);
  if (isStorageError(error)) return fromStorageError(error);
  // @supabase/server's AuthError, thrown as is or (its Hono adapter) as an HTTPException cause.
  if (isServerError(error)) return fromServerError(error);
  if (error instanceof HTTPException && isServerError(error.cause)) {
    return fromServerError(error.cause);
  }
  if (error instanceof HTTPException) return fromHttpException(error);
  if (error instanceof SyntaxError) {
    return new AppError("invalid_request", "Send a valid JSON body", { cause: error });
  }
  return new AppError("internal_error", "Cannot complete the request: unexpected error", {
    cause: error,
  });
}

function fromHttpException(error: HTTPException): AppError {
  if (error.status === 413) {
    return new AppError("payload_too_large", "Send a smaller request body", { cause: error });
  }
  if (error.status === 415) {
    return new AppError(
      "invalid_request",
      "Send the body as JSON (Content-Type: application/json)",
      {
        cause: error,
      },
    );
  }
  if (error.status === 401) {
    return new AppError("unauthorized", error.message || "Send a valid access token", {
      cause: error,
    });
  }
  if (error.status >= 400 && error.status < 500) {
    const message = /json/i.test(error.message)
      ? "Send a valid JSON body"
      : error.message || "Send a valid request";
    return new AppError("invalid_request", message, { cause: error, status: 400 });
  }
  return new AppError("internal_error", "Cannot complete the request: unexpected error", {
    cause: error,
  });
}

/**
 * Whether an answer is the server's own failure, worth a line in the error log.
 * Refusals are not: every 4xx, and 507 quota_exceeded (a user over their plan,
 * however often they try, must not flood the log).
 */
export function isServerFailure(error: AppError): boolean {
  return error.status >= 500 && error.code !== "quota_exceeded";
}

/**
 * A short, bounded description of an error's cause for the log: a database error's
 * SQLSTATE and message (never its query, parameters, detail or the whole object), a
 * Storage-API error's status and message, or an unknown error's stack (a bug).
 */
export function describeCause(cause: unknown): string {
  if (cause === undefined || cause === null) return "";
  const clip = (text: string) => (text.length > 300 ? `${text.slice(0, 300)}…` : text);
  if (isPostgresError(cause)) return clip(`database ${cause.code}: ${cause.message}`);
  if (isStorageError(cause)) {
    return clip(
      `storage ${cause.statusCode ?? cause.status ?? "?"} ${cause.name}: ${cause.message}`,
    );
  }
  if (cause instanceof Error) return clip(cause.stack ?? `${cause.name}: ${cause.message}`);
  return clip(String(cause));
}

/**
 * Answers an error as JSON with its real status. Server failures (5xx but 507) are
 * logged with a short description of their cause (never the request's secrets, never
 * the whole database error); refusals are not logged.
 */
export function errorResponse(error: unknown, headers?: HeadersInit): Response {
  const appError = toAppError(error);
  if (isServerFailure(appError)) {
    console.error(`[${appError.code}] ${appError.message}`, describeCause(appError.cause));
  }
  const responseHeaders = new Headers(headers);
  responseHeaders.set("content-type", "application/json; charset=utf-8");
  return new Response(JSON.stringify(errorBody(appError)), {
    status: appError.status,
    headers: responseHeaders,
  });
}
