import assert from "node:assert/strict";
import { execute, isTransient } from "./executor.ts";
import { LocalSource } from "./source-local.ts";
import { Journal } from "./journal.ts";
import { StorageApi, StorageError } from "./storage-api.ts";
import { CliError } from "../lib/errors.ts";
import type { PlanItem } from "./planner.ts";

function s3Error(status: number): CliError {
  const cause = Object.assign(new Error("S3 said no"), { $metadata: { httpStatusCode: status } });
  return new CliError("source_unavailable", "Cannot get", { cause });
}

Deno.test("isTransient: Storage says so; a missing file and S3 4xx are final; 5xx, 429, network retry", () => {
  assert.equal(isTransient(new StorageError("x", 503, "m", true)), true);
  assert.equal(isTransient(new StorageError("EntityTooLarge", 413, "m", false)), false);
  assert.equal(isTransient(new Deno.errors.NotFound("gone")), false);
  assert.equal(isTransient(new Deno.errors.PermissionDenied("no")), false);
  assert.equal(isTransient(s3Error(404)), false);
  assert.equal(isTransient(s3Error(403)), false);
  assert.equal(isTransient(s3Error(429)), true);
  assert.equal(isTransient(s3Error(503)), true);
  assert.equal(isTransient(new TypeError("fetch failed")), true);
});

Deno.test("execute: a source file gone since the plan fails once, without retries", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const item: PlanItem = {
      source: "gone.mp3",
      size: 3,
      stamp: "s",
      target: "u/gone.mp3",
      action: "copy",
      contentType: "audio/mpeg",
      userId: null,
    };
    const journal = await Journal.open(`${dir}/j`);
    const started = Date.now();
    const result = await execute([item], {
      bucket: "b",
      concurrency: 1,
      retries: 4,
      verify: "etag",
      deleteAfter: false,
      backoffMs: 1000,
    }, {
      source: new LocalSource(dir),
      api: new StorageApi("http://127.0.0.1:9", "k"),
      stored: () => Promise.reject(new Error("not reached")),
      journal,
    });
    await journal.close();
    assert.equal(result.failed.length, 1);
    assert.equal(result.failed[0].attempts, 1);
    assert.ok(Date.now() - started < 1000, "no backoff for a final error");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
