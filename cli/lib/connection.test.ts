import assert from "node:assert/strict";
import { resolveConnection, storageAuthHeaders } from "./connection.ts";

Deno.test("resolveConnection prefers the environment and never pairs it with the stack database", async () => {
  const c = await resolveConnection({
    SUPABASE_URL: "https://x.supabase.co",
    SUPABASE_SERVICE_ROLE_KEY: "k",
    STOWAGE_CREDENTIALS: "/nonexistent",
  });
  assert.deepEqual(c, {
    url: "https://x.supabase.co",
    secretKey: "k",
    dbUrl: null,
    from: "environment",
  });
  const d = await resolveConnection(
    { SUPABASE_URL: "u", SUPABASE_SERVICE_ROLE_KEY: "k" },
    "postgres://db",
  );
  assert.equal(d.dbUrl, "postgres://db");
});

Deno.test("resolveConnection names the missing half of the environment pair", async () => {
  await assert.rejects(
    resolveConnection({ SUPABASE_URL: "u" }),
    /Set SUPABASE_SECRET_KEY \(or the legacy SUPABASE_SERVICE_ROLE_KEY\) too/,
  );
});

Deno.test("resolveConnection reads the stack credentials file, and says where it looked", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/c.json`,
    JSON.stringify({ url: "http://127.0.0.1:1", serviceRoleKey: "s", dbUrl: "postgres://p" }),
  );
  const c = await resolveConnection({ STOWAGE_CREDENTIALS: `${dir}/c.json` });
  assert.deepEqual([c.url, c.secretKey, c.dbUrl], ["http://127.0.0.1:1", "s", "postgres://p"]);
  await assert.rejects(resolveConnection({ STOWAGE_CREDENTIALS: `${dir}/none.json` }), {
    code: "missing_config",
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("resolveConnection prefers SUPABASE_SECRET_KEY, accepts the legacy key, refuses a publishable one", async () => {
  const both = await resolveConnection({
    SUPABASE_URL: "https://x.supabase.co",
    SUPABASE_SECRET_KEY: "sb_secret_new",
    SUPABASE_SERVICE_ROLE_KEY: "eyJlegacy",
  });
  assert.equal(both.secretKey, "sb_secret_new");
  const legacy = await resolveConnection({ SUPABASE_URL: "u", SUPABASE_SERVICE_ROLE_KEY: "eyJl" });
  assert.equal(legacy.secretKey, "eyJl");
  await assert.rejects(
    resolveConnection({ SUPABASE_URL: "u", SUPABASE_SECRET_KEY: "sb_publishable_x" }),
    /secret key \(sb_secret_/,
  );
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/c.json`,
    JSON.stringify({ url: "http://h", secretKey: "sb_secret_s", serviceRoleKey: "eyJ" }),
  );
  assert.equal(
    (await resolveConnection({ STOWAGE_CREDENTIALS: `${dir}/c.json` })).secretKey,
    "sb_secret_s",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("storageAuthHeaders: a secret key as apikey only, a legacy JWT in both headers", () => {
  assert.deepEqual(storageAuthHeaders("sb_secret_x"), { apikey: "sb_secret_x" });
  assert.deepEqual(storageAuthHeaders("eyJ.x.y"), {
    authorization: "Bearer eyJ.x.y",
    apikey: "eyJ.x.y",
  });
});
