import assert from "node:assert/strict";
import { redactSecrets } from "./errors.ts";

Deno.test("redactSecrets hides URL passwords and keeps the rest", () => {
  assert.equal(
    redactSecrets("Invalid URL: 'postgres://postgres:S3cr:et@bad host:5432/db' and https://a.b/c"),
    "Invalid URL: 'postgres://postgres:***@bad host:5432/db' and https://a.b/c",
  );
  assert.equal(redactSecrets("postgresql://u:p%40ss@h/db"), "postgresql://u:***@h/db");
  assert.equal(
    redactSecrets("connect ECONNREFUSED 127.0.0.1:1"),
    "connect ECONNREFUSED 127.0.0.1:1",
  );
});

Deno.test("redactSecrets hides secret API keys", () => {
  assert.equal(
    redactSecrets("key sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz refused; sb_publishable_x kept"),
    "key sb_secret_*** refused; sb_publishable_x kept",
  );
});
