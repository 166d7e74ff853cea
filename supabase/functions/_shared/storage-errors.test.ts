import assert from "node:assert/strict";
import { fromStorageError, isStorageError } from "./storage-errors.ts";

function api(statusCode: string, message: string, code?: string) {
  return {
    __isStorageError: true,
    name: "StorageApiError",
    message,
    status: 400,
    statusCode,
    code,
  };
}

Deno.test("Storage-API errors map by the body's statusCode, not the HTTP 400", () => {
  const cases: [ReturnType<typeof api>, number, string][] = [
    [api("404", "Object not found", "NoSuchKey"), 404, "not_found"],
    [api("404", "Bucket not found", "NoSuchBucket"), 404, "not_found"],
    [api("409", "The resource already exists", "KeyAlreadyExists"), 409, "already_exists"],
    [api("403", "new row violates row-level security policy", "AccessDenied"), 403, "forbidden"],
    [api("403", "no_reservation: a/b", "AccessDenied"), 403, "forbidden"],
    [
      api("403", "upload_too_large: 1000 bytes > declared 10", "AccessDenied"),
      413,
      "file_too_large",
    ],
    [
      api("403", "unsupported_media_type: text/html", "AccessDenied"),
      415,
      "unsupported_media_type",
    ],
    [
      api("413", "The object exceeded the maximum allowed size", "EntityTooLarge"),
      413,
      "file_too_large",
    ],
    [api("415", "mime type x is not supported", "InvalidMimeType"), 415, "unsupported_media_type"],
    [api("400", "Invalid key: a#b", "InvalidKey"), 400, "invalid_path"],
    [api("400", "body/expiresIn must be integer", "InvalidRequest"), 400, "invalid_request"],
    [api("503", "acquiring lock timeout", "LockTimeout"), 502, "storage_unavailable"],
    [api("500", "database error", "DatabaseError"), 502, "storage_unavailable"],
    [api("429", "too many connections", "SlowDown"), 502, "storage_unavailable"],
    [api("544", "timeout", "DatabaseTimeout"), 502, "storage_unavailable"],
  ];
  for (const [input, status, code] of cases) {
    assert.ok(isStorageError(input));
    const error = fromStorageError(input);
    assert.deepEqual([error.status, error.code], [status, code], input.message);
  }
});

Deno.test("a Storage-server 5xx never passes the server's own text on to the client", () => {
  for (
    const input of [
      api("500", "database error, code: 40P01", "DatabaseError"),
      api("503", "acquiring lock timeout on 10.0.0.7:5432", "LockTimeout"),
      api("500", "Internal Server Error", "InternalError"),
    ]
  ) {
    const error = fromStorageError(input);
    assert.equal(error.code, "storage_unavailable");
    assert.doesNotMatch(error.message, /40P01|database error|10\.0\.0\.7|Internal Server Error/);
    assert.doesNotMatch(JSON.stringify(error.details), /40P01|DatabaseError|LockTimeout/);
    assert.equal(error.cause, input); // logged from the cause
  }
});

Deno.test("a storage server that cannot be reached is 502 storage_unavailable", () => {
  const unknown = { __isStorageError: true, name: "StorageUnknownError", message: "fetch failed" };
  const error = fromStorageError(unknown);
  assert.equal(error.status, 502);
  assert.equal(error.code, "storage_unavailable");
  assert.equal(isStorageError(new Error("x")), false);
});
