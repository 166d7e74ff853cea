/**
 * @module How a Storage-API failure becomes an {@link AppError}. The Storage
 * server answers almost every error as HTTP 400 with the real status as a
 * string in the body's `statusCode` (supabase-js exposes it as
 * `error.statusCode`): we map by that, never by the HTTP status. A failure to
 * reach the server at all is 502 storage_unavailable.
 */
import { AppError } from "./app-error.ts";

/** The fields supabase-js's StorageApiError / StorageUnknownError carry. */
export interface StorageErrorLike {
  name: string;
  message: string;
  status?: number;
  statusCode?: string;
  code?: string;
}

/** True for an error object from supabase-js's storage client. */
export function isStorageError(error: unknown): error is StorageErrorLike {
  return typeof error === "object" && error !== null && "__isStorageError" in error;
}

/**
 * Maps a Storage-API error. Our own trigger refusals reach the client as
 * statusCode "403" with a message that begins with their code
 * (`upload_too_large: …`, `unsupported_media_type: …`, `no_reservation: …`).
 */
export function fromStorageError(error: StorageErrorLike): AppError {
  if (error.name !== "StorageApiError") {
    return new AppError(
      "storage_unavailable",
      "Cannot reach the storage server: try again shortly",
      {
        cause: error,
      },
    );
  }
  const semantic = Number.parseInt(error.statusCode ?? "", 10);
  const status = Number.isFinite(semantic) ? semantic : error.status ?? 500;
  const details = { storageCode: error.code ?? null, storageStatus: String(status) };
  const message = error.message || "Storage refused the request";
  const make = (code: ConstructorParameters<typeof AppError>[0], text = message) =>
    new AppError(code, text, { cause: error, details });
  if (status === 400) return make(error.code === "InvalidKey" ? "invalid_path" : "invalid_request");
  if (status === 401 || status === 403) {
    if (message.startsWith("upload_too_large")) return make("file_too_large");
    if (message.startsWith("unsupported_media_type")) return make("unsupported_media_type");
    return make("forbidden");
  }
  if (status === 404) return make("not_found");
  if (status === 409) return make("already_exists");
  if (status === 413) return make("file_too_large");
  if (status === 415) return make("unsupported_media_type");
  if (status === 416 || status === 422) return make("invalid_request");
  // A 5xx (or anything unexpected): the server's own text ("database error, code: 40P01",
  // internal addresses, SQL) is logged from `cause`, never sent to the client.
  return new AppError(
    "storage_unavailable",
    "Cannot complete the storage request: the storage server failed, try again shortly",
    { cause: error, details: { storageStatus: String(status) } },
  );
}
