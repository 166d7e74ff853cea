/**
 * @module Integration tests of the assistants function's plumbing over HTTP:
 * health, the OpenAPI document, CORS, JSON errors for unknown routes.
 */
import assert from "node:assert/strict";
import { functionUrl } from "../support/stack.ts";

Deno.test("GET /assistants/health reports the database and the webhook secret as ready", async () => {
  const response = await fetch(`${await functionUrl("assistants")}/health`);
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), {
    status: "ok",
    config: { ok: true, problems: [] },
    database: { ok: true },
    webhookSecret: { ok: true },
  });
});

Deno.test("GET /assistants/openapi.json lists the routes", async () => {
  const response = await fetch(`${await functionUrl("assistants")}/openapi.json`);
  assert.equal(response.status, 200);
  const doc = await response.json();
  assert.ok(doc.paths["/assistants/lookup/{assistantId}"].get);
  assert.ok(doc.paths["/assistants/positions/{courseId}"].put);
});

Deno.test("CORS: preflights pass without a token and errors carry CORS headers", async () => {
  const base = await functionUrl("assistants");
  const preflight = await fetch(`${base}/me`, {
    method: "OPTIONS",
    headers: {
      origin: "http://app.example",
      "access-control-request-method": "PUT",
      "access-control-request-headers": "authorization, content-type",
    },
  });
  await preflight.body?.cancel();
  assert.ok(preflight.status === 204 || preflight.status === 200);
  assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
  const denied = await fetch(`${base}/me`, { headers: { origin: "http://app.example" } });
  assert.equal(denied.status, 401);
  assert.equal(denied.headers.get("access-control-allow-origin"), "*");
  assert.equal((await denied.json()).error.code, "unauthorized");
});

Deno.test("an unknown route is a JSON 404", async () => {
  const response = await fetch(`${await functionUrl("assistants")}/nothing-here`);
  assert.equal(response.status, 404);
  assert.equal((await response.json()).error.code, "not_found");
});
