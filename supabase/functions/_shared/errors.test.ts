import assert from "node:assert/strict";
import { HTTPException } from "hono/http-exception";
import { AppError, errorResponse, toAppError } from "./errors.ts";

Deno.test("errorResponse answers the envelope with the real status", async () => {
  const response = errorResponse(new AppError("quota_exceeded", "Full", { details: { a: 1 } }));
  assert.equal(response.status, 507);
  assert.deepEqual(await response.json(), {
    error: { code: "quota_exceeded", message: "Full", details: { a: 1 } },
  });
});

Deno.test("toAppError routes database, storage, Hono and unknown errors", () => {
  const pg = Object.assign(new Error("x"), { name: "PostgresError", code: "SW404" });
  assert.equal(toAppError(pg).code, "not_found");
  assert.equal(
    toAppError({ __isStorageError: true, name: "StorageUnknownError", message: "x" }).status,
    502,
  );
  assert.equal(
    toAppError(new HTTPException(400, { message: "Malformed JSON" })).code,
    "invalid_request",
  );
  assert.equal(toAppError(new HTTPException(413)).code, "payload_too_large");
  assert.equal(toAppError(new HTTPException(415)).status, 400);
  assert.equal(toAppError(new SyntaxError("Unexpected token")).status, 400);
  const unknown = toAppError(new Error("secret detail"));
  assert.equal(unknown.code, "internal_error");
  assert.ok(!unknown.message.includes("secret detail"));
});
