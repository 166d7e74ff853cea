/**
 * @module The Storage-API error model: one error class, the error catalogue of
 * supabase/storage v1.70 (messages word for word) and the SQLSTATE mapping
 * (`DBError.fromDBError`), rendered as the real server's envelope.
 */

/** An error the server answers with `{statusCode, error, message, code}`. */
export class StorageError extends Error {
  /**
   * @param statusCode semantic status, sent as a string in the body
   * @param error legacy label (`not_found`, `Duplicate`, ...)
   * @param code the `ErrorCode` (`NoSuchKey`, ...)
   * @param httpStatus the real HTTP status; defaults to the storage rule (500 stays 500, else 400)
   */
  constructor(
    readonly statusCode: number,
    readonly error: string,
    message: string,
    readonly code: string,
    readonly httpStatus: number = statusCode === 500 ? 500 : 400,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StorageError";
  }

  /** The JSON body, keys in the real server's order. */
  body(): Record<string, string> {
    return {
      statusCode: String(this.statusCode),
      error: this.error,
      message: this.message,
      code: this.code,
    };
  }
}

/** The error catalogue (STORAGE_API_FACTS.md §2.2 and the recorded bodies). */
export const ERRORS = {
  noSuchKey: () => new StorageError(404, "not_found", "Object not found", "NoSuchKey"),
  noSuchBucket: () => new StorageError(404, "Bucket not found", "Bucket not found", "NoSuchBucket"),
  invalidKey: (key: string) =>
    new StorageError(400, "InvalidKey", `Invalid key: ${key}`, "InvalidKey"),
  invalidBucketName: (_name: string) =>
    new StorageError(400, "Invalid Input", "Bucket name invalid", "InvalidBucketName"),
  keyAlreadyExists: () =>
    new StorageError(409, "Duplicate", "The resource already exists", "KeyAlreadyExists"),
  resourceAlreadyExists: () =>
    new StorageError(409, "Duplicate", "The resource already exists", "ResourceAlreadyExists"),
  bucketAlreadyExists: () =>
    new StorageError(409, "Duplicate", "The resource already exists", "BucketAlreadyExists"),
  accessDenied: (message = "Access denied") =>
    new StorageError(403, "Unauthorized", message, "AccessDenied"),
  rls: () =>
    new StorageError(
      403,
      "Unauthorized",
      "new row violates row-level security policy",
      "AccessDenied",
    ),
  entityTooLarge: () =>
    new StorageError(
      413,
      "Payload too large",
      "The object exceeded the maximum allowed size",
      "EntityTooLarge",
    ),
  userMetadataTooLarge: () =>
    new StorageError(
      413,
      "Payload too large",
      "The user_metadata exceeded the maximum allowed size",
      "EntityTooLarge",
    ),
  invalidMimeType: (mime: string) =>
    new StorageError(
      415,
      "invalid_mime_type",
      `mime type ${mime} is not supported`,
      "InvalidMimeType",
    ),
  invalidContentType: () =>
    new StorageError(415, "invalid_mime_type", "Invalid Content-Type header", "InvalidMimeType"),
  invalidJwt: (message: string) => new StorageError(400, "InvalidJWT", message, "InvalidJWT"),
  invalidSignature: (message = "Invalid signature") =>
    new StorageError(400, "InvalidSignature", message, "InvalidSignature"),
  invalidParameter: (name: string, message = `Invalid Parameter ${name}`) =>
    new StorageError(400, "InvalidParameter", message, "InvalidParameter"),
  invalidUploadId: (message = "Invalid upload id") =>
    new StorageError(400, "InvalidUploadId", message, "InvalidUploadId"),
  metadataRequired: () =>
    new StorageError(400, "InvalidRequest", "Metadata header is required", "InvalidRequest"),
  noContent: () => new StorageError(400, "InvalidRequest", "No content provided", "InvalidRequest"),
  /** A request-schema violation, worded as Ajv words it (`body must have required property 'x'`). */
  validation: (message: string) => new StorageError(400, "Error", message, "InvalidRequest"),
  /** Fastify's JSON parser failure (`error` is the thrown error's name). */
  badJson: (name: string, message: string) =>
    new StorageError(400, name, message, "InvalidRequest"),
  lockTimeout: () =>
    new StorageError(503, "acquiring_lock_timeout", "acquiring lock timeout", "LockTimeout"),
  resourceNotEmpty: () =>
    new StorageError(
      409,
      "ResourceNotEmpty",
      "The bucket you tried to delete is not empty",
      "ResourceNotEmpty",
    ),
  relatedMissing: () =>
    new StorageError(
      404,
      "InvalidRequest",
      "The related resource does not exist",
      "InvalidRequest",
    ),
  routeNotFound: (method: string, url: string) =>
    new StorageError(404, "Not Found", `Route ${method}:${url} not found`, "InvalidRequest", 404),
  /** The service-role-only routes' role check (`enforceJwtRole`): a real HTTP 403. */
  invalidRole: () =>
    new StorageError(403, "Unauthorized", "Access denied: Invalid role", "AccessDenied", 403),
  tooManyObjectsToEmpty: () =>
    new StorageError(
      409,
      "InvalidRequest",
      "Unable to empty the bucket because it contains too many objects",
      "InvalidRequest",
    ),
  /** A Range the file backend cannot serve: a real HTTP 416. */
  invalidRange: () =>
    new StorageError(416, "invalid_range", "invalid range provided", "InvalidRange", 416),
  /** Fastify's JSON body limit (1 MiB): FST_ERR_CTP_BODY_TOO_LARGE, a real HTTP 413. */
  bodyTooLarge: () =>
    new StorageError(413, "FastifyError", "Request body is too large", "EntityTooLarge", 413),
  internal: (message = "Internal Server Error", cause?: unknown) =>
    new StorageError(500, "internal", message, "InternalError", 500, { cause }),
} as const;

/** The shape of an error thrown by the `postgres` driver. */
interface PgError {
  code?: string;
  message?: string;
  detail?: string;
  where?: string;
}

function isPgError(e: unknown): e is PgError & Error {
  return e instanceof Error && typeof (e as PgError).code === "string" &&
    /^[0-9A-Z]{5}$/.test((e as PgError).code!);
}

/**
 * Maps a Postgres error to the client-visible error by SQLSTATE, as `DBError.fromDBError`
 * does: only 42501 (and 22P02) let the message through; anything unmapped is HTTP 500
 * `database error, code: <SQLSTATE>`.
 * @param e whatever was thrown
 * @param duplicate the error a unique violation becomes on this path
 */
export function fromDbError(e: unknown, duplicate = ERRORS.resourceAlreadyExists): StorageError {
  if (e instanceof StorageError) return e;
  if (!isPgError(e)) return ERRORS.internal("Internal Server Error", e);
  const message = e.message ?? "";
  switch (e.code) {
    case "42501":
      return message.includes("row-level security") ? ERRORS.rls() : ERRORS.accessDenied(message);
    case "23505":
      return duplicate();
    case "23503":
      return e.detail?.includes("still referenced")
        ? new StorageError(
          409,
          "ResourceReferenced",
          "The resource is still referenced",
          "ResourceReferenced",
        )
        : ERRORS.relatedMissing();
    case "22P02":
      return new StorageError(400, "InvalidParameter", message, "InvalidParameter");
    case "55P03":
      return new StorageError(423, "ResourceLocked", "Resource Locked", "ResourceLocked");
    case "57014":
      return new StorageError(
        544,
        "DatabaseTimeout",
        "The database timed out",
        "DatabaseTimeout",
        544,
      );
    case "25006":
      return new StorageError(
        503,
        "DatabaseReadOnly",
        "The database is read-only",
        "DatabaseReadOnly",
      );
    case "42703":
    case "42P01":
      return new StorageError(
        503,
        "DatabaseSchemaMismatch",
        `There is a database schema mismatch in a trigger or RLS policy: ${e.where ?? message}`,
        "DatabaseSchemaMismatch",
      );
    default:
      return new StorageError(
        500,
        "DatabaseError",
        `database error, code: ${e.code}`,
        "DatabaseError",
        500,
        { cause: e },
      );
  }
}

/** Renders any error as the real server's JSON error response (HEAD: the same, without body). */
export function errorResponse(e: unknown, method: string): Response {
  const err = e instanceof StorageError ? e : fromDbError(e);
  if (err.httpStatus === 500 && !(e instanceof StorageError && e.code === "DatabaseError")) {
    console.error("storage-api: internal error", e);
  }
  const text = JSON.stringify(err.body());
  const headers = new Headers({ "content-type": "application/json; charset=utf-8" });
  if (err.code === "InvalidRequest" && err.statusCode === 404 && err.error === "Not Found") {
    headers.set("content-type", "application/json");
  }
  headers.set("content-length", String(new TextEncoder().encode(text).byteLength));
  return new Response(method === "HEAD" ? null : text, { status: err.httpStatus, headers });
}
