/**
 * @module The error type every function throws: {@link AppError}, a stable
 * snake_case code with its real HTTP status, and the JSON envelope it is sent in.
 */

/** HTTP status of every error code the functions answer with. */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_path: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  already_exists: 409,
  assistant_taken: 409,
  file_too_large: 413,
  payload_too_large: 413,
  unsupported_media_type: 415,
  too_many_reservations: 429,
  quota_exceeded: 507,
  internal_error: 500,
  storage_unavailable: 502,
  database_unavailable: 503,
  misconfigured: 503,
} as const;

/** A stable, documented error code. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** Options of an {@link AppError} beyond its code and message. */
export interface AppErrorOptions {
  /** Machine-readable specifics (numbers, offending fields); sent to the client. */
  details?: unknown;
  /** The underlying error; logged, never sent. */
  cause?: unknown;
  /** Overrides the code's usual status (rarely needed). */
  status?: number;
}

/**
 * The only error type route and domain code throw.
 * @example throw new AppError("not_found", `Cannot find bucket "${bucket}"`);
 */
export class AppError extends Error {
  /** Stable snake_case code, part of the API. */
  readonly code: ErrorCode;
  /** The HTTP status answered. */
  readonly status: number;
  /** Specifics sent in `error.details`. */
  readonly details: unknown;

  /**
   * @param code a documented error code; its status comes from {@link ERROR_STATUS}
   * @param message a human sentence, action first, values quoted
   */
  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.status = options.status ?? ERROR_STATUS[code];
    this.details = options.details ?? null;
  }
}

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: unknown };
}

/** Builds the error envelope of an AppError. */
export function errorBody(error: AppError): ErrorBody {
  return { error: { code: error.code, message: error.message, details: error.details } };
}
