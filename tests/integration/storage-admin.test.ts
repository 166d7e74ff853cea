/**
 * Admin routes (service role only), /health and /openapi.json over real HTTP.
 */
import assert from "node:assert/strict";
import { createUser, stack } from "../support/stack.ts";
import { api, expectError, STORAGE_OPERATIONS } from "../support/storage.ts";

Deno.test("admin: the service role sets plans, reads usage and reconciles", async () => {
  const service = (await stack()).secretKey;
  const user = await createUser();
  const plan = await api("PUT", `/admin/users/${user.id}/plan`, service, { plan: "paid" });
  assert.equal(plan.status, 200, JSON.stringify(plan.body));
  assert.equal(plan.body.plan, "paid");
  assert.equal(plan.body.quotaBytes, 5368709120);
  assert.equal((await api("GET", "/quota", user.token)).body.plan, "paid");

  const usage = await api("GET", `/admin/users/${user.id}/usage`, service);
  assert.equal(usage.status, 200);
  assert.equal(usage.body.plan, "paid");

  const one = await api("POST", "/admin/reconcile", service, { userId: user.id });
  assert.equal(one.status, 200, JSON.stringify(one.body));
  assert.ok(Array.isArray(one.body.users));
  const all = await api("POST", "/admin/reconcile", service);
  assert.equal(all.status, 200, JSON.stringify(all.body));
});

Deno.test("admin: users get 403, missing tokens 401, unknown users and plans 404", async () => {
  const service = (await stack()).secretKey;
  const user = await createUser();
  expectError(
    await api("PUT", `/admin/users/${user.id}/plan`, user.token, { plan: "paid" }),
    403,
    "forbidden",
  );
  expectError(await api("GET", `/admin/users/${user.id}/usage`, user.token), 403, "forbidden");
  expectError(await api("POST", "/admin/reconcile", user.token, {}), 403, "forbidden");
  expectError(await api("GET", `/admin/users/${user.id}/usage`, null), 401, "unauthorized");
  expectError(
    await api("PUT", `/admin/users/${user.id}/plan`, service, { plan: "platinum" }),
    404,
    "not_found",
  );
  expectError(
    await api("PUT", `/admin/users/${crypto.randomUUID()}/plan`, service, { plan: "paid" }),
    404,
    "not_found",
  );
  expectError(await api("GET", "/admin/users/not-a-uuid/usage", service), 400, "invalid_request");
  expectError(
    await api("PUT", `/admin/users/${user.id}/plan`, service, { plan: 5 }),
    400,
    "invalid_request",
  );
});

Deno.test("GET /health reports the database and storage reachable, without auth", async () => {
  const health = await api("GET", "/health", null);
  assert.equal(health.status, 200);
  assert.deepEqual(health.body, {
    status: "ok",
    config: { ok: true, problems: [] },
    database: { ok: true },
    storage: { ok: true },
  });
});

Deno.test("GET /openapi.json is an OpenAPI 3 document listing every route with schemas", async () => {
  const doc = (await api("GET", "/openapi.json", null)).body;
  assert.match(doc.openapi, /^3\.\d+\.\d+$/);
  // The function runs behind the gateway on an internal port: `servers` never names it.
  assert.deepEqual(doc.servers, [{ url: "/functions/v1" }]);
  assert.equal(typeof doc.info.title, "string");
  // deno-lint-ignore no-explicit-any
  const operations = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap((
    [path, methods],
  ) =>
    Object.entries(methods).map(([method, op]) => ({ id: `${method.toUpperCase()} ${path}`, op }))
  );
  assert.deepEqual(operations.map((o) => o.id).sort(), STORAGE_OPERATIONS);
  for (const { id, op } of operations) {
    assert.ok(op.responses && Object.keys(op.responses).length > 0, id);
    if (!id.includes("health")) assert.ok(op.responses["400"] || op.responses["401"], id);
  }
  // Every $ref resolves to a component schema.
  const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)];
  for (const [, name] of refs) assert.ok(doc.components.schemas[name], name);
});
