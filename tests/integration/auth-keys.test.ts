/**
 * @module The functions with the platform's API keys, over the stack's gateway:
 * every route family with the publishable key and a user's token (as supabase-js
 * sends them), with the secret key (a backend: admin routes, or acting for a user
 * with `userId`), and with the legacy anon / service_role keys (accepted while the
 * stack has them, refused when `STOWAGE_LEGACY_KEYS=off`); a secret key sent as
 * `Bearer`, an unknown `sb_secret_` and the publishable key alone are 401; the
 * functions start and answer /health with only the new-key variables.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, FunctionsHost } from "../../stack/functions.ts";
import { loadKeys } from "../../stack/keys.ts";
import { createUser, functionUrl, stack, type TestUser } from "../support/stack.ts";
import { AUDIO, LMS, seedLms } from "../support/storage.ts";

type Headers = Record<string, string>;

interface Answer {
  status: number;
  // deno-lint-ignore no-explicit-any
  body: any;
}

async function call(
  fn: "storage" | "assistants",
  method: string,
  path: string,
  headers: Headers,
  body?: unknown,
): Promise<Answer> {
  const response = await fetch(`${await functionUrl(fn)}${path}`, {
    method,
    headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** One request per route family a user calls (answers 2xx for a fresh user). */
function userRoutes(): [string, string, string, unknown?][] {
  return [
    ["storage", "POST", "/uploads", {
      bucket: LMS,
      path: "keys/a.txt",
      size: 3,
      contentType: "text/plain",
    }],
    ["storage", "GET", `/objects?bucket=${LMS}&prefix=keys/`],
    ["storage", "GET", "/quota"],
    ["storage", "POST", "/downloads", { bucket: LMS, paths: ["c1/seed.json"] }],
    ["storage", "DELETE", "/folders", { bucket: AUDIO, prefix: "none/" }],
    ["storage", "GET", "/events"],
    ["assistants", "GET", "/positions/c1"],
  ];
}

/** The same families as a backend acting for `user` (service key + userId). */
function actingRoutes(user: TestUser): [string, string, string, unknown?][] {
  return [
    ["storage", "POST", "/uploads", {
      bucket: LMS,
      path: "keys/b.txt",
      size: 3,
      contentType: "text/plain",
      userId: user.id,
    }],
    ["storage", "GET", `/objects?bucket=${LMS}&prefix=c1/&userId=${user.id}`],
    ["storage", "GET", `/quota?userId=${user.id}`],
    ["storage", "POST", "/downloads", { bucket: LMS, paths: ["c1/seed.json"], userId: user.id }],
    ["storage", "DELETE", "/folders", { bucket: AUDIO, prefix: "none/", userId: user.id }],
    ["storage", "GET", `/admin/users/${user.id}/usage`],
    ["storage", "POST", "/admin/reconcile", { userId: user.id }],
    // Assistant mappings are recorded by the backend (users may not claim ids by default).
    ["assistants", "PUT", "/me", {
      assistantId: `asst_${crypto.randomUUID()}`,
      courseId: "c1",
      userId: user.id,
    }],
  ];
}

async function expectAll(
  routes: [string, string, string, unknown?][],
  headers: Headers,
  status: (s: number) => boolean,
  label: string,
): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (const [fn, method, path, body] of routes) {
    const answer = await call(fn as "storage", method, path, headers, body);
    assert.ok(status(answer.status), `${label}: ${method} ${path} -> ${JSON.stringify(answer)}`);
    answers.push(answer);
  }
  return answers;
}

const ok = (s: number) => s >= 200 && s < 300;

Deno.test("publishable key + user token: every route family answers for the user", async () => {
  const s = await stack();
  const user = await createUser();
  await seedLms(user, ["c1/seed.json"]);
  const headers = { apikey: s.publishableKey, authorization: `Bearer ${user.token}` };
  const [, list, quota] = await expectAll(userRoutes(), headers, ok, "publishable + user");
  assert.deepEqual(list.body.items, []);
  assert.equal(quota.body.plan, "free");
});

Deno.test("secret key in apikey: admin routes and a backend acting for a user", async () => {
  const s = await stack();
  const user = await createUser();
  await seedLms(user, ["c1/seed.json"]);
  const answers = await expectAll(actingRoutes(user), { apikey: s.secretKey }, ok, "secret key");
  assert.deepEqual(answers[1].body.items.map((i: { path: string }) => i.path), ["c1/seed.json"]);
  // Also when sent in both headers, as supabase-js's functions client does with a key only.
  await expectAll(
    actingRoutes(user).slice(2, 3),
    { apikey: s.secretKey, authorization: `Bearer ${s.secretKey}` },
    ok,
    "secret key in both headers",
  );
  const lookup = await call("assistants", "GET", `/lookup/asst_unknown_${user.id}`, {
    apikey: s.secretKey,
  });
  assert.equal(lookup.status, 404, "the secret key reaches the lookup (unknown id)");
});

Deno.test("legacy anon + user token and the legacy service_role key: accepted while the stack has them", async () => {
  const s = await stack();
  const user = await createUser();
  await seedLms(user, ["c1/seed.json"]);
  const asUser = { apikey: s.anonKey, authorization: `Bearer ${user.token}` };
  const asService = { authorization: `Bearer ${s.serviceRoleKey}` };
  if (s.legacyKeysEnabled) {
    await expectAll(userRoutes(), asUser, ok, "anon + user");
    await expectAll(actingRoutes(user), asService, ok, "service_role as Bearer");
    await expectAll(actingRoutes(user), { ...asService, apikey: s.serviceRoleKey }, ok, "both");
  } else {
    for (const headers of [asUser, asService]) {
      const refused = await call("storage", "GET", "/quota", headers);
      assert.equal(refused.status, 401, JSON.stringify(refused.body));
      assert.match(JSON.stringify(refused.body), /Legacy API keys are disabled/);
    }
  }
});

Deno.test("a secret key sent as Bearer is refused 401 UNUSABLE_CREDENTIAL", async () => {
  const s = await stack();
  const user = await createUser();
  for (const [fn, method, path, body] of actingRoutes(user)) {
    const answer = await call(fn as "storage", method, path, {
      authorization: `Bearer ${s.secretKey}`,
    }, body);
    assert.equal(answer.status, 401, `${method} ${path}`);
    assert.equal(answer.body.error.code, "unauthorized");
    assert.equal(answer.body.error.details.reason, "UNUSABLE_CREDENTIAL");
    assert.match(answer.body.error.message, /apikey header/);
  }
  const me = await call("assistants", "GET", "/me", { authorization: `Bearer ${s.secretKey}` });
  assert.equal(me.status, 401);
  assert.equal(me.body.error.details.reason, "UNUSABLE_CREDENTIAL");
});

Deno.test("an unknown sb_secret_ is 401 INVALID_API_KEY on every family", async () => {
  const user = await createUser();
  const headers = { apikey: "sb_secret_0000000000000000000000" };
  for (const answer of await expectAll(actingRoutes(user), headers, (s) => s === 401, "unknown")) {
    assert.equal(answer.body.error.code, "unauthorized");
    assert.equal(answer.body.error.details.reason, "INVALID_API_KEY");
  }
});

Deno.test("the publishable key alone gets no user data (401 on every user route)", async () => {
  const s = await stack();
  const user = await createUser();
  const attempts: Headers[] = [
    { apikey: s.publishableKey },
    { apikey: s.publishableKey, authorization: `Bearer ${s.publishableKey}` },
  ];
  for (const headers of attempts) {
    const answers = await expectAll(userRoutes(), headers, (x) => x === 401, "publishable");
    for (const answer of answers) assert.equal(answer.body.error.code, "unauthorized");
  }
  const admin = await call("storage", "GET", `/admin/users/${user.id}/usage`, {
    apikey: s.publishableKey,
  });
  assert.equal(admin.status, 401);
  const lookup = await call("assistants", "GET", `/lookup/asst_${user.id}`, {
    apikey: s.publishableKey,
  });
  assert.equal(lookup.status, 404, "the lookup answers as for an unknown id");
});

Deno.test("a user token with the secret key from a browser is refused by the gateway", async () => {
  const s = await stack();
  const user = await createUser();
  const answer = await call("storage", "GET", "/quota", {
    apikey: s.secretKey,
    authorization: `Bearer ${user.token}`,
    origin: "http://localhost:3000",
  });
  assert.equal(answer.status, 401);
  assert.match(answer.body.message, /secret API key in browser/);
});

Deno.test("both functions start and answer /health 200 with only the new-key variables (+ the webhook secret)", async () => {
  const s = await stack();
  const keys = await loadKeys(s.keysFile);
  const dir = await Deno.makeTempDir({ prefix: "stowage-newkeys-" });
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    NO_COLOR: "1",
    SUPABASE_URL: s.url,
    SUPABASE_DB_URL: s.dbUrl,
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: s.publishableKey }),
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: s.secretKey }),
    SUPABASE_JWKS: JSON.stringify(keys.jwks),
    // Our own secret (the webhook lookup's), not a platform variable.
    ASSISTANT_WEBHOOK_SECRET: s.assistantWebhookSecret,
  };
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir) env.DENO_DIR = denoDir;
  const functionsDir = new URL("../../supabase/functions", import.meta.url).pathname;
  const names = ["assistants", "storage"];
  const host = new FunctionsHost(functionsDir, env, join(dir, "fn.log"), names, () => freePort());
  try {
    for (const name of names) {
      const port = await host.port(name);
      const health = await fetch(`http://127.0.0.1:${port}/${name}/health`);
      const body = await health.json();
      assert.equal(health.status, 200, `${name}: ${JSON.stringify(body)}`);
      assert.deepEqual(body.config, { ok: true, problems: [] });
    }
    // And a user is served by that instance, its Storage calls made with the new keys.
    const user = await createUser();
    const port = await host.port("storage");
    const res = await fetch(`http://127.0.0.1:${port}/storage/uploads`, {
      method: "POST",
      headers: {
        apikey: s.publishableKey,
        authorization: `Bearer ${user.token}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ bucket: LMS, path: "n/a.txt", size: 1, contentType: "text/plain" }),
    });
    assert.ok(ok(res.status), await res.clone().text());
    assert.match((await res.json()).signedUrl, /\/storage\/v1\/object\/upload\/sign\//);
  } finally {
    await host.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
