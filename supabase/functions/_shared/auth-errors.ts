/**
 * @module The errors of `@supabase/server` in our contract: a caller's mistake
 * (status 401: missing, unusable or invalid credentials) is 401 `unauthorized`
 * with an action-first message and the library's code and hint in `details`; a
 * server-side failure (status 500: no JWKS, JWKS unreachable, no keys) is 503
 * `misconfigured`, logged by the error handler.
 */
import { AppError } from "./app-error.ts";

/** The fields of a `SupabaseServerError` (AuthError, EnvError) we read. */
export interface ServerError extends Error {
  source: "@supabase/server";
  code: string;
  status?: number;
  hint?: string;
}

/** Whether `error` was produced by `@supabase/server`. */
export function isServerError(error: unknown): error is ServerError {
  return error instanceof Error &&
    (error as Partial<ServerError>).source === "@supabase/server" &&
    typeof (error as Partial<ServerError>).code === "string";
}

const MESSAGES: Record<string, string> = {
  MISSING_CREDENTIALS:
    "Send credentials: Authorization: Bearer <user access token>, or apikey: <secret key> from a backend",
  UNUSABLE_CREDENTIAL:
    "Send API keys in the apikey header: Authorization: Bearer takes a user's access token, never an sb_ key",
  INVALID_API_KEY: "Send a valid API key: the apikey matches none of the project's keys",
  INVALID_CREDENTIALS: "Send valid credentials: a user's access token or a secret key",
};

/** Maps a `@supabase/server` error to an AppError. */
export function fromServerError(error: ServerError): AppError {
  const details = { reason: error.code, ...(error.hint ? { hint: error.hint } : {}) };
  if ((error.status ?? 500) >= 500) {
    return new AppError(
      "misconfigured",
      "Cannot verify credentials: the function's keys are not usable",
      {
        cause: error,
        details: { reason: error.code },
      },
    );
  }
  const stripped = error.message.replace(/^\[@supabase\/server\]\s*/, "");
  const message = MESSAGES[error.code] ??
    (error.code === "INVALID_JWT"
      ? /expired/i.test(stripped)
        ? "Sign in again: the access token has expired"
        : `Send a valid access token: ${stripped}`
      : stripped);
  return new AppError("unauthorized", message, { cause: error, details });
}
