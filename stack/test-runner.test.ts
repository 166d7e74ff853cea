/**
 * @module The test runner reads deno test's and pg_prove's results right.
 */
import assert from "node:assert/strict";
import {
  LEGACY_OFF_FILES,
  parseDenoSummary,
  parsePartialDeno,
  parseTap,
  serverErrorExcerpt,
} from "./test-runner.ts";

Deno.test("parseDenoSummary reads passed, failed and ignored, with or without steps", () => {
  assert.deepEqual(parseDenoSummary("...\nok | 3 passed | 0 failed (30ms)\n"), {
    passed: 3,
    failed: 0,
    skipped: 0,
  });
  assert.deepEqual(
    parseDenoSummary("FAILED | 4 passed (2 steps) | 1 failed | 2 ignored (137ms)"),
    { passed: 4, failed: 1, skipped: 2 },
  );
  assert.equal(parseDenoSummary("error: Module not found"), undefined);
});

Deno.test("parseTap counts ok, not ok and skips of pg_prove --verbose", () => {
  const out = [
    "supabase/tests/database/a.test.sql ..",
    "1..3",
    "ok 1 - first",
    "not ok 2 - second",
    "ok 3 # SKIP no reason",
    "    ok 1 - nested subtest",
  ].join("\n");
  assert.deepEqual(parseTap(out), { passed: 2, failed: 1, skipped: 1 });
});

Deno.test("parsePartialDeno counts finished tests of a run cut short, and at least one failure", () => {
  const out = "a ... ok (1ms)\nb ... FAILED (2ms)\nc ... ok (3ms)\nd ... ignored (0ms)\n";
  assert.deepEqual(parsePartialDeno(out), { passed: 2, failed: 1, skipped: 1 });
  assert.deepEqual(parsePartialDeno("a ... ok (1ms)\n"), { passed: 1, failed: 1, skipped: 0 });
});

Deno.test("the legacy-keys-off pass names existing files: keys, uploads, listing, admin", async () => {
  assert.ok(LEGACY_OFF_FILES.length >= 4);
  for (const family of ["auth-keys", "uploads", "listing", "admin"]) {
    assert.ok(LEGACY_OFF_FILES.some((f) => f.includes(family)), family);
  }
  for (const file of LEGACY_OFF_FILES) {
    assert.ok((await Deno.stat(new URL(`../${file}`, import.meta.url))).isFile, file);
  }
});

Deno.test("serverErrorExcerpt keeps each server-side failure with the lines of its cause", () => {
  const log = [
    "Listening on 127.0.0.1:54321",
    "storage-api: internal error NotFound: No such file or directory (os error 2): open 'x'",
    "    at async Disk.write (disk.ts:52:17)",
    "    at async upload (upload.ts:127:21)",
    "GET /health 200",
    "[internal_error] Unexpected failure storage 500 StorageApiError: boom",
    "a request was refused [not_found] (not at a line's start: not a failure)",
  ].join("\n");
  assert.deepEqual(serverErrorExcerpt(log, 20, 2), [
    [
      "storage-api: internal error NotFound: No such file or directory (os error 2): open 'x'",
      "    at async Disk.write (disk.ts:52:17)",
      "    at async upload (upload.ts:127:21)",
    ].join("\n"),
    [
      "[internal_error] Unexpected failure storage 500 StorageApiError: boom",
      "a request was refused [not_found] (not at a line's start: not a failure)",
    ].join("\n"),
  ]);
  assert.equal(serverErrorExcerpt(log, 1, 2).length, 1, "at most max blocks");
  assert.deepEqual(serverErrorExcerpt("all fine\nGET / 200"), []);
});
