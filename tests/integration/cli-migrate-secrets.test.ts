/**
 * @module `stowage migrate` never prints credentials, even in the errors of a bad setup.
 */
import assert from "node:assert/strict";
import { runCli } from "../support/cli.ts";

Deno.test("a malformed --db-url is reported without its password", async () => {
  const dir = await Deno.makeTempDir({ prefix: "stowage-cli-secrets-" });
  try {
    const run = await runCli([
      "migrate",
      dir,
      "--to",
      "anantra-lms-store",
      "--db-url",
      "postgres://postgres:Sup3rSecret@bad host:5432/postgres",
    ], { SUPABASE_URL: "http://127.0.0.1:9", SUPABASE_SERVICE_ROLE_KEY: "service-key-xyz" });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /invalid_db_url/);
    assert.match(run.stderr, /postgres:\*\*\*@bad host/);
    assert.doesNotMatch(run.stdout + run.stderr, /Sup3rSecret|service-key-xyz/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
