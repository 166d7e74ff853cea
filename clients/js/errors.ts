/**
 * @module The one error class the client throws, {@link StowageError}, and the
 * mapping from every kind of failed response (the functions' JSON envelope, the
 * Storage API's HTTP 400 with the real status in its body, a network failure,
 * an unreadable body) to it.
 */
import type { ErrorCode } from "../../supabase/functions/_shared/app-error.ts";

/**
 * Codes the client itself adds to the API's codes: `network_error` (no answer),
 * `unexpected_response` (an answer that is not the documented JSON),
 * `aborted` (the caller's AbortSignal fired), `storage_error` (the Storage API
 * refused a signed upload for a reason without a Stowage code, e.g. an
 * expired token), and the upload trigger's refusals (`upload_too_large`,
 * `no_reservation`).
 */
export type ClientErrorCode =
  | "network_error"
  | "unexpected_response"
  | "aborted"
  | "storage_error"
  | "upload_too_large"
  | "no_reservation"
  | "delete_stalled";

/** Every code a {@link StowageError} can carry. */
export type StowageErrorCode = ErrorCode | ClientErrorCode;

/**
 * A failed call: the API's stable `code`, the HTTP `status` (0 when there was
 * no answer) and the API's `details` (numbers such as `quotaBytes`, the
 * offending fields...).
 * @example
 * try { await stowage.upload(file, { bucket, path }); }
 * catch (e) { if (e instanceof StowageError && e.code === "quota_exceeded") showFull(e.details); }
 */
export class StowageError extends Error {
  /** Stable snake_case code (see {@link StowageErrorCode}). */
  readonly code: StowageErrorCode;
  /** HTTP status of the answer; 0 when the request got none. */
  readonly status: number;
  /** The API's `error.details` (null when none). */
  readonly details: unknown;

  /**
   * @param code stable code
   * @param message human sentence from the API (or the client)
   * @param status HTTP status, 0 for none
   * @param details the API's details
   * @param cause underlying error, if any
   */
  constructor(
    code: StowageErrorCode,
    message: string,
    status: number,
    details: unknown = null,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "StowageError";
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Turns a function's error answer (`{"error": {"code", "message", "details"}}`)
 * into a StowageError. Anything else becomes `unexpected_response` with the
 * status and the start of the body in `details.body`.
 */
export function fromFunctionResponse(status: number, text: string): StowageError {
  const body = parseJson(text);
  const error = isRecord(body) ? body.error : undefined;
  if (isRecord(error) && typeof error.code === "string" && typeof error.message === "string") {
    return new StowageError(
      error.code as StowageErrorCode,
      error.message,
      status,
      error.details ?? null,
    );
  }
  return new StowageError(
    "unexpected_response",
    `Cannot read the answer: HTTP ${status} without an error body`,
    status,
    { body: text.slice(0, 500) },
  );
}

/**
 * Turns the Storage API's answer to a signed PUT into a StowageError. The
 * server answers HTTP 400 with the real status as a string in `statusCode`; the
 * upload trigger's refusals arrive as messages that begin with their code
 * (`upload_too_large: 1000 bytes > declared 10`).
 */
export function fromStorageResponse(status: number, text: string): StowageError {
  const body = parseJson(text);
  if (!isRecord(body) || typeof body.message !== "string") {
    return new StowageError(
      "unexpected_response",
      `Cannot read the Storage answer: HTTP ${status}`,
      status,
      { body: text.slice(0, 500) },
    );
  }
  const realStatus = Number(body.statusCode) || status;
  const coded = body.message.match(/^([a-z][a-z_]+): (.*)$/s);
  if (coded) {
    return new StowageError(coded[1] as StowageErrorCode, coded[2], realStatus, {
      storageError: body.error ?? null,
    });
  }
  return new StowageError("storage_error", body.message, realStatus, {
    storageError: body.error ?? null,
  });
}

/** Wraps a thrown fetch/XHR failure: `aborted` when the signal fired, else `network_error`. */
export function fromNetworkFailure(error: unknown, what: string): StowageError {
  if (error instanceof StowageError) return error;
  if (error instanceof DOMException && error.name === "AbortError") {
    return new StowageError("aborted", `${what}: aborted`, 0, null, error);
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new StowageError("network_error", `${what}: ${reason}`, 0, null, error);
}
