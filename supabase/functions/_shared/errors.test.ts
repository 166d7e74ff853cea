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

/** Runs `fn` with console.error captured. */
function capturingErrors(fn: () => void): string[] {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => {
    lines.push(args.map((a) => (typeof a === "string" ? a : Deno.inspect(a))).join(" "));
  };
  try {
    fn();
  } finally {
    console.error = original;
  }
  return lines;
}

/** A database error as the `postgres` driver throws it: query, parameters and all. */
function pgError(code: string, message: string) {
  return Object.assign(new Error(message), {
    name: "PostgresError",
    code,
    detail: '{"quotaBytes":1000}',
    query: "select stowage.reserve($1, $2) -- SECRET-QUERY",
    parameters: ["SECRET-PARAM"],
  });
}

Deno.test("refusals (4xx) and 507 quota_exceeded are answered without a line in the error log", () => {
  const lines = capturingErrors(() => {
    errorResponse(toAppError(pgError("SW507", "quota_exceeded: over the plan")));
    errorResponse(new AppError("quota_exceeded", "Full"));
    errorResponse(new AppError("not_found", "Cannot find it"));
    errorResponse(toAppError(pgError("SW403", "forbidden: not yours")));
  });
  assert.deepEqual(lines, []);
});

Deno.test("server failures are logged with the SQLSTATE and message, never the whole database error", () => {
  const lines = capturingErrors(() => {
    const response = errorResponse(toAppError(pgError("XX000", "internal boom")));
    assert.equal(response.status, 500);
  });
  assert.equal(lines.length, 1);
  assert.match(lines[0], /internal_error/);
  assert.match(lines[0], /XX000: internal boom/);
  assert.doesNotMatch(lines[0], /SECRET-QUERY|SECRET-PARAM|quotaBytes/);
});
