/**
 * @module The client's error mapping: the functions' envelope, the Storage
 * API's 400-with-real-status, no answer, a non-JSON answer, a failing token
 * source; the first ones against the live stack.
 */
import assert from "node:assert/strict";
import { createStowage, StowageError } from "./mod.ts";
import { fromFunctionResponse, fromStorageResponse } from "./errors.ts";
import { stack, tokenFor } from "../../tests/support/stack.ts";
import { LMS } from "./testing.ts";

async function refusal(promise: Promise<unknown>): Promise<StowageError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof StowageError, `expected a StowageError, got ${error}`);
    return error;
  }
  assert.fail("expected the call to fail");
}

Deno.test("a call without a token throws unauthorized (401)", async () => {
  const stowage = createStowage({ url: (await stack()).url, getToken: () => null });
  const e = await refusal(stowage.quota());
  assert.equal(e.code, "unauthorized");
  assert.equal(e.status, 401);
  assert.equal(e.name, "StowageError");
});

Deno.test("an expired token throws unauthorized (401)", async () => {
  const token = await tokenFor(crypto.randomUUID(), { expiresIn: -60 });
  const stowage = createStowage({ url: (await stack()).url, getToken: () => token });
  const e = await refusal(stowage.list({ bucket: LMS, prefix: "" }));
  assert.equal(e.code, "unauthorized");
  assert.equal(e.status, 401);
});

Deno.test("a validation failure throws invalid_request (400) with the issues in details", async () => {
  const token = await tokenFor(crypto.randomUUID());
  const stowage = createStowage({ url: (await stack()).url, getToken: () => token });
  const e = await refusal(stowage.list({ bucket: LMS, prefix: "", limit: 5000 }));
  assert.equal(e.code, "invalid_request");
  assert.equal(e.status, 400);
  const details = e.details as { issues: { path: string }[] };
  assert.equal(details.issues[0].path, "limit");
});

Deno.test("no server answering throws network_error with status 0", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const stowage = createStowage({ url: `http://127.0.0.1:${port}`, getToken: () => "t" });
  const e = await refusal(stowage.quota());
  assert.equal(e.code, "network_error");
  assert.equal(e.status, 0);
  assert.match(e.message, /Cannot call GET storage\/quota/);
});

Deno.test("an answer that is not the API's JSON throws unexpected_response", async () => {
  // The gateway's own 404 (no such function) has no error envelope.
  const stowage = createStowage({
    url: (await stack()).url,
    functionsUrl: `${(await stack()).url}/functions/v1/no-such-function`,
    getToken: () => "t",
  });
  const e = await refusal(stowage.quota());
  assert.equal(e.code, "unexpected_response");
  assert.equal(e.status, 404);
});

Deno.test("a token source that throws surfaces as unauthorized with the cause", async () => {
  const boom = new Error("session lost");
  const stowage = createStowage({
    url: (await stack()).url,
    getToken: () => {
      throw boom;
    },
  });
  const e = await refusal(stowage.quota());
  assert.equal(e.code, "unauthorized");
  assert.equal(e.cause, boom);
});

Deno.test("an aborted call throws aborted", async () => {
  const token = await tokenFor(crypto.randomUUID());
  const stowage = createStowage({ url: (await stack()).url, getToken: () => token });
  const controller = new AbortController();
  controller.abort();
  const e = await refusal(stowage.list({ bucket: LMS, prefix: "" }, controller.signal));
  assert.equal(e.code, "aborted");
});

Deno.test("fromFunctionResponse keeps code, message, status and details", () => {
  const e = fromFunctionResponse(
    507,
    JSON.stringify({
      error: { code: "quota_exceeded", message: "Cannot reserve", details: { quotaBytes: 5 } },
    }),
  );
  assert.deepEqual([e.code, e.message, e.status, e.details], [
    "quota_exceeded",
    "Cannot reserve",
    507,
    { quotaBytes: 5 },
  ]);
});

Deno.test("fromStorageResponse reads the real status and the trigger's code from the body", () => {
  const e = fromStorageResponse(
    400,
    JSON.stringify({
      statusCode: "403",
      error: "Unauthorized",
      message: "unsupported_media_type: text/plain is not audio/mpeg",
    }),
  );
  assert.deepEqual([e.code, e.status, e.message], [
    "unsupported_media_type",
    403,
    "text/plain is not audio/mpeg",
  ]);
  const jwt = fromStorageResponse(
    400,
    JSON.stringify({ statusCode: "400", error: "InvalidJWT", message: '"exp" claim failed' }),
  );
  assert.deepEqual([jwt.code, jwt.status, jwt.details], ["storage_error", 400, {
    storageError: "InvalidJWT",
  }]);
  assert.equal(fromStorageResponse(502, "<html>").code, "unexpected_response");
});
