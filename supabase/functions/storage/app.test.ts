import assert from "node:assert/strict";
import { createStorageApp } from "./app.ts";
import { createRuntime } from "./context.ts";
import { STORAGE_OPERATIONS } from "../../../tests/support/storage.ts";

const broken = createStorageApp(createRuntime({ SUPABASE_URL: "http://127.0.0.1:9" }));
const configured = createStorageApp(createRuntime({
  SUPABASE_URL: "http://127.0.0.1:9",
  SUPABASE_ANON_KEY: "anon",
  SUPABASE_SERVICE_ROLE_KEY: "sb_secret_test",
  SUPABASE_DB_URL: "postgresql://postgres:postgres@127.0.0.1:9/postgres",
  SUPABASE_JWKS: '{"keys":[]}',
}));

Deno.test("health names missing variables (never values) and answers 503", async () => {
  const response = await broken.request("/storage/health");
  assert.equal(response.status, 503);
  const body = await response.json();
  assert.equal(body.status, "unavailable");
  assert.ok(body.config.problems.includes("SUPABASE_DB_URL is missing"));
  assert.ok(!JSON.stringify(body).includes("127.0.0.1:9"));
});

Deno.test("without configuration every route is 503 misconfigured", async () => {
  const response = await broken.request("/storage/quota");
  assert.equal(response.status, 503);
  assert.equal((await response.json()).error.code, "misconfigured");
});

Deno.test("health reports an unreachable database and storage as 503", async () => {
  const response = await configured.request("/storage/health");
  assert.equal(response.status, 503);
  const body = await response.json();
  assert.equal(body.config.ok, true);
  assert.equal(body.database.ok, false);
  assert.equal(body.storage.ok, false);
});

Deno.test("routes refuse a missing token with 401 before anything else", async () => {
  for (
    const [method, path] of [
      ["POST", "/storage/uploads"],
      ["POST", "/storage/uploads/batch"],
      ["DELETE", "/storage/uploads"],
      ["GET", "/storage/objects?bucket=x"],
      ["DELETE", "/storage/objects"],
      ["DELETE", "/storage/folders"],
      ["POST", "/storage/downloads"],
      ["GET", "/storage/quota"],
      ["GET", "/storage/events"],
      ["POST", "/storage/admin/purge"],
      ["GET", "/storage/admin/users/a11ce000-0000-4000-8000-000000000001/usage"],
    ]
  ) {
    const response = await configured.request(path, { method });
    assert.equal(response.status, 401, `${method} ${path}`);
    assert.equal((await response.json()).error.code, "unauthorized");
  }
});

Deno.test("the service key reaches validation; user routes then need a user", async () => {
  const headers = { authorization: "Bearer sb_secret_test", "content-type": "application/json" };
  const bad = await configured.request("/storage/uploads", { method: "POST", headers, body: "{" });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.code, "invalid_request");
  // The service key acts for a named user: without userId the request is incomplete.
  const quota = await configured.request("/storage/quota", { headers });
  assert.equal(quota.status, 400);
  assert.equal((await quota.json()).error.code, "invalid_request");
});

Deno.test("openapi.json is an OpenAPI 3 document listing every route", async () => {
  const response = await broken.request("http://10.1.2.3:8081/storage/openapi.json");
  assert.equal(response.status, 200);
  const doc = await response.json();
  // Relative: never the address the request reached the function on (internal in the runtime).
  assert.deepEqual(doc.servers, [{ url: "/functions/v1" }]);
  assert.doesNotMatch(JSON.stringify(doc), /10\.1\.2\.3|8081/);
  assert.match(doc.openapi, /^3\./);
  const operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
    .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
  assert.deepEqual(operations, STORAGE_OPERATIONS);
  assert.ok(doc.components.schemas.Upload);
  assert.ok(doc.components.schemas.Error);
});

Deno.test("unknown routes are a coded 404 and preflights pass without a token", async () => {
  const missing = await configured.request("/storage/nope");
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.code, "not_found");
  const preflight = await configured.request("/storage/uploads", {
    method: "OPTIONS",
    headers: { origin: "http://app.test", "access-control-request-method": "POST" },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
});
