import assert from "node:assert/strict";
import { resolveConnection } from "./connection.ts";

Deno.test("resolveConnection prefers the environment and never pairs it with the stack database", async () => {
  const c = await resolveConnection({
    SUPABASE_URL: "https://x.supabase.co",
    SUPABASE_SERVICE_ROLE_KEY: "k",
    STOWAGE_CREDENTIALS: "/nonexistent",
  });
  assert.deepEqual(c, {
    url: "https://x.supabase.co",
    serviceRoleKey: "k",
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
    /Set SUPABASE_SERVICE_ROLE_KEY too/,
  );
});

Deno.test("resolveConnection reads the stack credentials file, and says where it looked", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/c.json`,
    JSON.stringify({ url: "http://127.0.0.1:1", serviceRoleKey: "s", dbUrl: "postgres://p" }),
  );
  const c = await resolveConnection({ STOWAGE_CREDENTIALS: `${dir}/c.json` });
  assert.deepEqual([c.url, c.serviceRoleKey, c.dbUrl], ["http://127.0.0.1:1", "s", "postgres://p"]);
  await assert.rejects(resolveConnection({ STOWAGE_CREDENTIALS: `${dir}/none.json` }), {
    code: "missing_config",
  });
  await Deno.remove(dir, { recursive: true });
});
