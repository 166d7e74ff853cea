/**
 * @module The one SQLSTATE table: how a Postgres error (our own `SW…` refusals,
 * privilege and constraint errors, timeouts, lost connections) becomes an
 * {@link AppError}.
 */
import { AppError, type ErrorCode } from "./app-error.ts";

/** The fields of a Postgres error the mapping reads (the `postgres` driver's PostgresError). */
export interface PostgresErrorLike {
  code: string;
  message: string;
  detail?: string;
}

/** One row of the SQLSTATE table. */
export interface SqlStateRule {
  /** The default code answered. */
  code: ErrorCode;
  /** Codes the message may name as its prefix (`quota_exceeded: …`) instead of the default. */
  alternatives?: ErrorCode[];
  /** Sends the database's message to the client (our own SW… messages); else a fixed one. */
  exposeMessage: boolean;
  /** Fixed message when the database's text is not exposed. */
  message?: string;
}

const UNAVAILABLE: SqlStateRule = {
  code: "database_unavailable",
  exposeMessage: false,
  message: "Cannot reach the database: try again shortly",
};

/**
 * SQLSTATE -> error. Exact codes first; classes (first two characters) in
 * {@link SQLSTATE_CLASSES}. Every row has a test in pg-errors.test.ts.
 */
export const SQLSTATES: Record<string, SqlStateRule> = {
  SW400: { code: "invalid_path", alternatives: ["invalid_request"], exposeMessage: true },
  SW403: { code: "forbidden", exposeMessage: true },
  SW404: { code: "not_found", exposeMessage: true },
  SW409: { code: "already_exists", alternatives: ["assistant_taken"], exposeMessage: true },
  SW413: { code: "file_too_large", exposeMessage: true },
  SW415: { code: "unsupported_media_type", exposeMessage: true },
  SW429: { code: "too_many_reservations", exposeMessage: true },
  SW507: { code: "quota_exceeded", exposeMessage: true },
  "42501": {
    code: "forbidden",
    alternatives: ["file_too_large", "unsupported_media_type"],
    exposeMessage: false,
    message: "Cannot do this: permission denied",
  },
  "23505": {
    code: "already_exists",
    exposeMessage: false,
    message: "Cannot create it: it already exists",
  },
  "23503": { code: "not_found", exposeMessage: false, message: "Cannot find a related record" },
  "23502": { code: "invalid_request", exposeMessage: false, message: "Send every required field" },
  "23514": { code: "invalid_request", exposeMessage: false, message: "Send values within range" },
  "22P02": {
    code: "invalid_request",
    exposeMessage: false,
    message: "Send values of the right type",
  },
  "22003": { code: "invalid_request", exposeMessage: false, message: "Send numbers within range" },
  "22023": {
    code: "invalid_request",
    exposeMessage: false,
    message: "Send valid parameter values",
  },
  "22001": { code: "invalid_request", exposeMessage: false, message: "Send shorter values" },
  "57014": { ...UNAVAILABLE, message: "The database did not answer in time: try again shortly" },
  "57P01": UNAVAILABLE,
  "57P02": UNAVAILABLE,
  "57P03": UNAVAILABLE,
  "40001": { ...UNAVAILABLE, message: "The request collided with another one: try again" },
  "40P01": { ...UNAVAILABLE, message: "The request collided with another one: try again" },
  "55P03": UNAVAILABLE,
  "25006": UNAVAILABLE,
  "42883": { ...UNAVAILABLE, message: "Cannot use the database: its Stowage schema is missing" },
  "42P01": { ...UNAVAILABLE, message: "Cannot use the database: its Stowage schema is missing" },
  "3F000": { ...UNAVAILABLE, message: "Cannot use the database: its Stowage schema is missing" },
};

/** SQLSTATE classes (first two characters) mapped when no exact row matches. */
export const SQLSTATE_CLASSES: Record<string, SqlStateRule> = {
  "08": UNAVAILABLE, // connection exception
  "53": UNAVAILABLE, // insufficient resources (too many connections)
  "57": UNAVAILABLE, // operator intervention
  "22": { code: "invalid_request", exposeMessage: false, message: "Send valid values" },
};

/** Driver-level (not server) error codes of a connection that failed or broke. */
export const CONNECTION_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
]);

/** True for an error the database or the driver raised (it carries a string `code`). */
export function isPostgresError(error: unknown): error is PostgresErrorLike {
  if (typeof error !== "object" || error === null) return false;
  const candidate = error as { name?: unknown; code?: unknown };
  if (typeof candidate.code !== "string") return false;
  return candidate.name === "PostgresError" || CONNECTION_ERROR_CODES.has(candidate.code);
}

/**
 * Maps a Postgres or driver error through the SQLSTATE table. An unknown
 * SQLSTATE is an internal error (logged upstream); our own messages begin
 * with their code (`quota_exceeded: …`), which is stripped from the text.
 */
export function fromPostgresError(error: PostgresErrorLike): AppError {
  if (CONNECTION_ERROR_CODES.has(error.code)) {
    return new AppError(UNAVAILABLE.code, UNAVAILABLE.message!, { cause: error });
  }
  const rule = SQLSTATES[error.code] ?? SQLSTATE_CLASSES[error.code.slice(0, 2)];
  if (!rule) {
    return new AppError(
      "internal_error",
      "Cannot complete the request: unexpected database error",
      {
        cause: error,
      },
    );
  }
  const { prefix, text } = splitCodePrefix(error.message);
  const code = prefix && rule.alternatives?.includes(prefix as ErrorCode)
    ? prefix as ErrorCode
    : rule.code;
  const message = rule.exposeMessage ? capitalize(text) : rule.message ?? "Cannot do this";
  return new AppError(code, message, { cause: error, details: parseDetail(error.detail) });
}

function splitCodePrefix(message: string): { prefix?: string; text: string } {
  const match = /^([a-z][a-z_]*):\s*(.*)$/s.exec(message);
  return match ? { prefix: match[1], text: match[2] || match[1] } : { text: message };
}

function capitalize(text: string): string {
  return text.length > 0 ? text[0].toUpperCase() + text.slice(1) : text;
}

function parseDetail(detail: string | undefined): unknown {
  if (!detail) return null;
  try {
    const parsed = JSON.parse(detail);
    return typeof parsed === "object" ? parsed : null;
  } catch {
    return null;
  }
}
