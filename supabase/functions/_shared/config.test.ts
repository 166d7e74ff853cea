import assert from "node:assert/strict";
import { parseConfig } from "./config.ts";

const base = {
  SUPABASE_URL: "http://kong:8000/",
  SUPABASE_ANON_KEY: "anon",
  SUPABASE_SERVICE_ROLE_KEY: "service",
  SUPABASE_DB_URL: "postgresql://postgres:secret-pw@db:5432/postgres",
};

Deno.test("parseConfig accepts the Edge Runtime variables and applies defaults", () => {
  const result = parseConfig(base);
  assert.ok(result.ok);
  assert.equal(result.config.supabaseUrl, "http://kong:8000");
  assert.equal(result.config.publicSupabaseUrl, "http://kong:8000");
  assert.equal(result.config.folderDeleteBudgetMs, 25_000);
  assert.equal(result.config.usesPooler, false);
  assert.equal(result.config.jwks, null);
  assert.equal(result.config.legacyJwtSecret, null);
});

Deno.test("parseConfig names missing variables and never repeats values", () => {
  const result = parseConfig({
    ...base,
    SUPABASE_DB_URL: "",
    SUPABASE_ANON_KEY: undefined,
  });
  assert.equal(result.ok, false);
  assert.deepEqual(result.problems.sort(), [
    "SUPABASE_DB_URL is missing",
    "SUPABASE_PUBLISHABLE_KEYS is missing (or SUPABASE_ANON_KEY)",
  ]);
  const bad = parseConfig({ ...base, SUPABASE_URL: "not a url secret-pw" });
  assert.deepEqual(bad.problems, ["SUPABASE_URL is invalid"]);
  assert.ok(!JSON.stringify(bad).includes("secret-pw"));
});

Deno.test("parseConfig prefers DB_POOL_URL and the public URL, parses JWKS and budgets", () => {
  const result = parseConfig({
    ...base,
    DB_POOL_URL: "postgresql://pooler:6543/postgres",
    PUBLIC_SUPABASE_URL: "https://proj.supabase.co",
    SUPABASE_JWKS: '{"keys":[{"kty":"EC"}]}',
    FOLDER_DELETE_BUDGET_MS: "500",
    LEGACY_JWT_SECRET: "s3cret",
  });
  assert.ok(result.ok);
  assert.equal(result.config.databaseUrl, "postgresql://pooler:6543/postgres");
  assert.equal(result.config.usesPooler, true);
  assert.equal(result.config.publicSupabaseUrl, "https://proj.supabase.co");
  assert.deepEqual(result.config.jwks, { keys: [{ kty: "EC" }] });
  assert.equal(result.config.folderDeleteBudgetMs, 500);
  assert.equal(result.config.legacyJwtSecret, "s3cret");
});

Deno.test("parseConfig rejects an unparsable JWKS and a bad budget by name", () => {
  assert.deepEqual(parseConfig({ ...base, SUPABASE_JWKS: "{" }).problems, [
    "SUPABASE_JWKS is invalid",
  ]);
  assert.deepEqual(
    parseConfig({ ...base, FOLDER_DELETE_BUDGET_MS: "-1" }).problems,
    [
      "FOLDER_DELETE_BUDGET_MS is invalid",
    ],
  );
});

Deno.test("parseConfig neither reads nor keeps UPLOAD_URL_TTL_SECONDS (the Storage server's lifetime applies)", () => {
  const result = parseConfig({
    ...base,
    UPLOAD_URL_TTL_SECONDS: "not a number",
  });
  assert.ok(result.ok, JSON.stringify(result.problems));
  assert.ok(!("uploadUrlTtlSeconds" in result.config));
  assert.ok(!Object.keys(result.config).some((k) => /ttl/i.test(k)));
});

/** What the platform gives a project with the new API keys and its legacy keys disabled. */
const newKeysOnly = {
  SUPABASE_URL: "https://proj.supabase.co",
  SUPABASE_DB_URL: "postgresql://postgres:pw@db:5432/postgres",
  SUPABASE_PUBLISHABLE_KEYS: '{"default":"sb_publishable_a","web":"sb_publishable_b"}',
  SUPABASE_SECRET_KEYS: '{"default":"sb_secret_a","ci":"sb_secret_b"}',
  SUPABASE_JWKS: '{"keys":[{"kty":"EC","kid":"k1"}]}',
};

Deno.test("parseConfig runs with only the new-key variables, using the default keys", () => {
  const result = parseConfig(newKeysOnly);
  assert.ok(result.ok, JSON.stringify(result.problems));
  assert.equal(result.config.apiKey, "sb_publishable_a");
  assert.equal(result.config.serviceKey, "sb_secret_a");
  assert.deepEqual(result.config.secretKeys, {
    default: "sb_secret_a",
    ci: "sb_secret_b",
  });
  assert.equal(result.config.anonKey, null);
  assert.equal(result.config.serviceRoleKey, null);
  const noDefault = parseConfig({
    ...newKeysOnly,
    SUPABASE_SECRET_KEYS: '{"ci":"sb_secret_b"}',
  });
  assert.ok(noDefault.ok);
  assert.equal(
    noDefault.config.serviceKey,
    "sb_secret_b",
    "no default: the first key",
  );
});

Deno.test("parseConfig runs with only the legacy keys, and prefers the new ones when both are set", () => {
  const legacy = parseConfig(base);
  assert.ok(legacy.ok);
  assert.equal(legacy.config.apiKey, "anon");
  assert.equal(legacy.config.serviceKey, "service");
  assert.deepEqual(legacy.config.secretKeys, {});
  const both = parseConfig({ ...base, ...newKeysOnly });
  assert.ok(both.ok);
  assert.equal(both.config.serviceKey, "sb_secret_a");
  assert.equal(
    both.config.serviceRoleKey,
    "service",
    "the legacy key stays accepted",
  );
});

Deno.test("parseConfig names missing or unparsable key variables, never their values", () => {
  const none = parseConfig({
    SUPABASE_URL: base.SUPABASE_URL,
    SUPABASE_DB_URL: base.SUPABASE_DB_URL,
  });
  assert.deepEqual(none.problems, [
    "SUPABASE_PUBLISHABLE_KEYS is missing (or SUPABASE_ANON_KEY)",
    "SUPABASE_SECRET_KEYS is missing (or SUPABASE_SERVICE_ROLE_KEY)",
  ]);
  const bad = parseConfig({
    ...newKeysOnly,
    SUPABASE_SECRET_KEYS: "sb_secret_plain_not_json",
  });
  assert.deepEqual(bad.problems, ["SUPABASE_SECRET_KEYS is invalid"]);
  assert.ok(!JSON.stringify(bad).includes("sb_secret_plain"));
  assert.deepEqual(
    parseConfig({ ...newKeysOnly, SUPABASE_PUBLISHABLE_KEYS: "[1]" }).problems,
    [
      "SUPABASE_PUBLISHABLE_KEYS is invalid",
    ],
  );
});
