/**
 * @module The example page's words: sizes, and the server's refusals explained.
 */
import assert from "node:assert/strict";
import { StowageError } from "@stowage/client";
import { explain, files, formatBytes } from "./format.ts";

Deno.test("formatBytes uses binary units with one decimal below 100", () => {
  assert.equal(formatBytes(0), "0 bytes");
  assert.equal(formatBytes(1023), "1023 bytes");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(300 * 1024), "300 KiB");
  assert.equal(formatBytes(524288000), "500 MiB");
  assert.equal(formatBytes(5368709120), "5.0 GiB");
});

Deno.test("files counts in words", () => {
  assert.deepEqual([files(0), files(1), files(2)], ["0 files", "1 file", "2 files"]);
});

Deno.test("explain words the quota, size and type refusals with their numbers", () => {
  const quota = new StowageError("quota_exceeded", "x", 507, {
    quotaBytes: 1024 * 1024,
    usedBytes: 300 * 1024,
    reservedBytes: 0,
    requestedBytes: 900 * 1024,
  });
  assert.equal(
    explain(quota, "big.bin"),
    'Storage full: "big.bin" needs 900 KiB, but only 724 KiB of your 1.0 MiB plan is left.',
  );
  const size = new StowageError("file_too_large", "x", 413, { maxBytes: 52428800 });
  assert.equal(
    explain(size, "a.mp3"),
    'Too large: "a.mp3" is bigger than the 50.0 MiB allowed per file here.',
  );
  const type = new StowageError("unsupported_media_type", "x", 415, {
    allowed: ["audio/mpeg", "audio/wav"],
  });
  assert.equal(
    explain(type, "a.txt"),
    'Wrong type: this bucket does not take "a.txt"; it accepts audio/mpeg, audio/wav.',
  );
  assert.equal(
    explain(new StowageError("storage_unavailable", "Storage is down", 502)),
    "Storage is down (storage_unavailable, HTTP 502)",
  );
  assert.match(explain(new TypeError("boom")), /Something went wrong: TypeError: boom/);
});
