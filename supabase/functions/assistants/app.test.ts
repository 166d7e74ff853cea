/**
 * @module In-process tests of the assistants app's plumbing that needs no
 * database: configuration problems, the OpenAPI document, CORS, 401s, 400s,
 * and the lookup's 404 for every caller it refuses (checked before any SQL).
 * Database behaviour is tested over HTTP in tests/integration/assistants-*.test.ts.
 */
import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { createApp } from "./app.ts";
import { createRuntime } from "./context.ts";

const LEGACY = "legacy-secret-with-at-least-32-characters!";
const WEBHOOK = "webhook-secret-for-tests";
const USER_ID = "a11ce000-0000-4000-8000-000000000001";
const ENV = {
  SUPABASE_URL: "http://127.0.0.1:9",
  SUPABASE_ANON_KEY: "anon",
  SUPABASE_SERVICE_ROLE_KEY: "sb_secret_service",
  // Nothing listens on port 9: any SQL would fail with 503, so a 4xx proves no SQL ran.
  SUPABASE_DB_URL: "postgresql://postgres:postgres@127.0.0.1:9/postgres",
  SUPABASE_JWKS: JSON.stringify({ keys: [] }),
  LEGACY_JWT_SECRET: LEGACY,
  ASSISTANT_WEBHOOK_SECRET: WEBHOOK,
};

function token(claims: Record<string, unknown>, exp = "1h"): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setIssuedAt()
    .setExpirationTime(exp).sign(new TextEncoder().encode(LEGACY));
}

async function withApp(
  env: Record<string, string>,
  fn: (app: ReturnType<typeof createApp>) => Promise<void>,
) {
  const runtime = createRuntime(env);
  try {
    await fn(createApp(runtime));
  } finally {
    await runtime.deps?.db.end();
  }
}

async function errorOf(response: Response) {
  const body = await response.json();
  return { status: response.status, code: body.error.code, body };
}

Deno.test("GET /health names missing variables (never values) with 503", async () => {
  await withApp({ SUPABASE_URL: "http://x.test" }, async (app) => {
    const response = await app.request("/assistants/health");
    assert.equal(response.status, 503);
    const body = await response.json();
    assert.equal(body.status, "unavailable");
    assert.ok(body.config.problems.includes("SUPABASE_DB_URL is missing"));
    assert.equal(body.webhookSecret.ok, false);
  });
});

Deno.test("GET /health names a missing webhook secret and an unreachable database, 503", async () => {
  const { ASSISTANT_WEBHOOK_SECRET: _, ...withoutSecret } = ENV;
  await withApp(withoutSecret, async (app) => {
    const response = await app.request("/assistants/health");
    assert.equal(response.status, 503);
    const body = await response.json();
    assert.deepEqual(body.config, { ok: true, problems: [] });
    assert.deepEqual(body.webhookSecret, {
      ok: false,
      error: "ASSISTANT_WEBHOOK_SECRET is missing",
    });
    assert.deepEqual(body.database, { ok: false, error: "database_unavailable" });
  });
});

Deno.test("a misconfigured function answers its routes 503 misconfigured", async () => {
  await withApp({}, async (app) => {
    const { status, code } = await errorOf(await app.request("/assistants/me"));
    assert.equal(status, 503);
    assert.equal(code, "misconfigured");
  });
});

Deno.test("GET /openapi.json documents every route with the base path", async () => {
  await withApp(ENV, async (app) => {
    const response = await app.request("http://10.1.2.3:8081/assistants/openapi.json");
    assert.equal(response.status, 200);
    const doc = await response.json();
    assert.deepEqual(doc.servers, [{ url: "/functions/v1" }]);
    assert.doesNotMatch(JSON.stringify(doc), /10\.1\.2\.3|8081/);
    for (
      const path of [
        "/assistants/me",
        "/assistants/lookup/{assistantId}",
        "/assistants/positions/{courseId}",
        "/assistants/health",
      ]
    ) {
      assert.ok(doc.paths[path], `missing ${path}`);
    }
    assert.ok(doc.paths["/assistants/me"].put && doc.paths["/assistants/me"].delete);
    assert.ok(doc.components.securitySchemes.webhookSecret);
  });
});

Deno.test("CORS preflight is answered without authentication and allows x-webhook-secret", async () => {
  await withApp(ENV, async (app) => {
    const response = await app.request("/assistants/lookup/a1", {
      method: "OPTIONS",
      headers: {
        origin: "http://app.test",
        "access-control-request-method": "GET",
        "access-control-request-headers": "x-webhook-secret",
      },
    });
    assert.equal(response.status, 204);
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    assert.match(response.headers.get("access-control-allow-headers") ?? "", /x-webhook-secret/);
  });
});

Deno.test("user routes refuse a missing, expired or anon token with 401", async () => {
  await withApp(ENV, async (app) => {
    const expired = await token({ sub: USER_ID, role: "authenticated" }, "-1m");
    const anon = await token({ role: "anon" });
    for (const authorization of [undefined, `Bearer ${expired}`, `Bearer ${anon}`]) {
      for (
        const [method, path] of [["GET", "/me"], ["DELETE", "/me"], ["GET", "/positions/c1"]]
      ) {
        const headers: Record<string, string> = authorization ? { authorization } : {};
        const response = await app.request(`/assistants${path}`, { method, headers });
        const { status, code } = await errorOf(response);
        assert.equal(status, 401, `${method} ${path}`);
        assert.equal(code, "unauthorized");
      }
    }
  });
});

Deno.test("the service role on /me must name the user it acts for: 400 without userId", async () => {
  await withApp(ENV, async (app) => {
    for (const method of ["GET", "DELETE"]) {
      const response = await app.request("/assistants/me", {
        method,
        headers: { authorization: "Bearer sb_secret_service" },
      });
      const { status, code } = await errorOf(response);
      assert.deepEqual([status, code], [400, "invalid_request"], method);
    }
  });
});

Deno.test("invalid bodies and parameters are 400 invalid_request, never 500", async () => {
  await withApp(ENV, async (app) => {
    const authorization = `Bearer ${await token({ sub: USER_ID, role: "authenticated" })}`;
    const headers = { authorization, "content-type": "application/json" };
    const cases: [string, string, string][] = [
      ["PUT", "/me", "{"],
      ["PUT", "/me", "[]"],
      ["PUT", "/me", JSON.stringify({ assistantId: "a1" })],
      ["PUT", "/me", JSON.stringify({ assistantId: "", courseId: "c" })],
      ["PUT", "/me", JSON.stringify({ assistantId: "has space", courseId: "c" })],
      ["PUT", "/me", JSON.stringify({ assistantId: "x".repeat(201), courseId: "c" })],
      ["PUT", "/me", JSON.stringify({ assistantId: "a1", courseId: "c", extra: 1 })],
      // An unpaired surrogate would be stored as U+FFFD: a different course id.
      ["PUT", "/me", JSON.stringify({ assistantId: "a1", courseId: "\ud800x" })],
      ["PUT", "/positions/c1", JSON.stringify({ lastPosition: -1 })],
      ["PUT", "/positions/c1", JSON.stringify({ lastPosition: 1.5 })],
      ["PUT", "/positions/c1", JSON.stringify({ lastPosition: "3" })],
      ["PUT", "/positions/c1", JSON.stringify({ lastPosition: 2 ** 60 })],
      ["PUT", "/positions/c1", "{}"],
      ["GET", `/positions/${"c".repeat(201)}`, ""],
      ["GET", "/positions/a%01b", ""],
    ];
    for (const [method, path, body] of cases) {
      const response = await app.request(`/assistants${path}`, {
        method,
        headers,
        body: method === "GET" ? undefined : body,
      });
      const { status, code } = await errorOf(response);
      assert.equal(status, 400, `${method} ${path} ${body}`);
      assert.equal(code, "invalid_request");
    }
  });
});

Deno.test("GET /lookup answers 404 to a missing or wrong secret and to a bad token", async () => {
  await withApp(ENV, async (app) => {
    const expired = await token({ sub: USER_ID, role: "authenticated" }, "-1m");
    const attempts: Record<string, string>[] = [
      {},
      { "x-webhook-secret": "wrong" },
      { "x-webhook-secret": "" },
      { "x-webhook-secret": WEBHOOK.slice(0, -1) },
      { authorization: "Bearer nonsense" },
      { authorization: `Bearer ${expired}` },
      { authorization: `Bearer ${await token({ role: "anon" })}` },
      // A wrong secret is not retried as a token, even a valid service one.
      { "x-webhook-secret": "wrong", authorization: "Bearer sb_secret_service" },
    ];
    for (const headers of attempts) {
      const { status, code, body } = await errorOf(
        await app.request("/assistants/lookup/asst_1", { headers }),
      );
      assert.equal(status, 404, JSON.stringify(headers));
      assert.equal(code, "not_found");
      assert.ok(!JSON.stringify(body).includes(WEBHOOK));
    }
  });
});

Deno.test("GET /lookup refuses every secret when ASSISTANT_WEBHOOK_SECRET is unset", async () => {
  const { ASSISTANT_WEBHOOK_SECRET: _, ...env } = ENV;
  await withApp(env, async (app) => {
    for (const secret of ["", "undefined", "null", WEBHOOK]) {
      const response = await app.request("/assistants/lookup/asst_1", {
        headers: { "x-webhook-secret": secret },
      });
      assert.equal(response.status, 404);
      await response.body?.cancel();
    }
  });
});

Deno.test("unknown routes are a JSON 404; oversized bodies a 413", async () => {
  await withApp(ENV, async (app) => {
    assert.equal((await errorOf(await app.request("/assistants/nope"))).code, "not_found");
    const authorization = `Bearer ${await token({ sub: USER_ID, role: "authenticated" })}`;
    const response = await app.request("/assistants/me", {
      method: "PUT",
      headers: { authorization, "content-type": "application/json" },
      body: JSON.stringify({ assistantId: "a", courseId: "x".repeat(20_000) }),
    });
    assert.equal((await errorOf(response)).status, 413);
  });
});
