/**
 * @module The client's uploads against the local stack: progress, the
 * server's refusals as StowageError codes, batches, and the Storage API's
 * refusal of a PUT larger than its reservation.
 */
import assert from "node:assert/strict";
import { createStowage, type Quota, StowageError } from "./mod.ts";
import type { Progress } from "./put.ts";
import { transfer } from "./storage.ts";
import { AUDIO, blob, LMS, session } from "./testing.ts";
import { stack } from "../../tests/support/stack.ts";
import type { Upload } from "./types.ts";

async function refusal(promise: Promise<unknown>): Promise<StowageError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof StowageError, `expected a StowageError, got ${error}`);
    return error;
  }
  assert.fail("expected the call to fail");
}

Deno.test("upload reserves, PUTs with progress to 100 %, and counts in the quota", async () => {
  const { stowage } = await session();
  const seen: Progress[] = [];
  const result = await stowage.upload(blob(3000, "application/json"), {
    bucket: LMS,
    path: "course-1/notes.json",
    onProgress: (p) => seen.push(p),
  });
  assert.equal(result.path, "course-1/notes.json");
  assert.equal(result.size, 3000);
  assert.equal(result.contentType, "application/json");
  assert.match(result.key, /^user_data\/[0-9a-f-]{36}\/course-1\/notes\.json$/);
  assert.equal(seen.at(-1)?.fraction, 1);
  assert.equal(seen.at(-1)?.loaded, 3000);
  const quota = await stowage.quota();
  assert.equal(quota.usedBytes, 3000);
  assert.equal(quota.reservedBytes, 0);
  assert.equal(quota.objectCount, 1);
});

Deno.test("upload refuses an existing path (already_exists) unless upsert", async () => {
  const { stowage } = await session();
  await stowage.upload(blob(10), { bucket: LMS, path: "a.bin" });
  const e = await refusal(stowage.upload(blob(20), { bucket: LMS, path: "a.bin" }));
  assert.equal(e.code, "already_exists");
  assert.equal(e.status, 409);
  await stowage.upload(blob(20), { bucket: LMS, path: "a.bin", upsert: true });
  assert.equal((await stowage.quota()).usedBytes, 20);
});

Deno.test("upload over the plan's quota throws quota_exceeded (507) with the numbers", async () => {
  const { stowage } = await session({ quotaBytes: 1000 });
  await stowage.upload(blob(600), { bucket: LMS, path: "one.bin" });
  const e = await refusal(stowage.upload(blob(600), { bucket: LMS, path: "two.bin" }));
  assert.equal(e.code, "quota_exceeded");
  assert.equal(e.status, 507);
  assert.ok(e.details && typeof e.details === "object", "details carry the numbers");
  assert.equal((await stowage.quota()).usedBytes, 600);
});

Deno.test("upload of a type the bucket refuses throws unsupported_media_type (415)", async () => {
  const { stowage } = await session();
  const e = await refusal(stowage.upload(blob(10, "text/plain"), { bucket: AUDIO, path: "x.mp3" }));
  assert.equal(e.code, "unsupported_media_type");
  assert.equal(e.status, 415);
});

Deno.test("upload past the plan's per-file cap throws file_too_large (413)", async () => {
  const { stowage } = await session({ maxFileBytes: 100 });
  const e = await refusal(stowage.upload(blob(101), { bucket: LMS, path: "big.bin" }));
  assert.equal(e.code, "file_too_large");
  assert.equal(e.status, 413);
});

Deno.test("upload of a bad path throws invalid_path (400)", async () => {
  const { stowage } = await session();
  const e = await refusal(stowage.upload(blob(1), { bucket: LMS, path: "../escape.bin" }));
  assert.equal(e.code, "invalid_path");
  assert.equal(e.status, 400);
});

Deno.test("a PUT larger than its reservation is refused by Storage as upload_too_large, and the reservation is cancelled", async () => {
  const { user, stowage } = await session();
  const url = `${(await stack()).url}/functions/v1/storage/uploads`;
  const res = await fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
    body: JSON.stringify({ bucket: LMS, path: "small.bin", size: 10, contentType: "text/plain" }),
  });
  assert.equal(res.status, 201);
  const reservation = await res.json() as Upload;
  const transport = {
    functionsUrl: `${(await stack()).url}/functions/v1`,
    getToken: () => user.token,
    fetch: globalThis.fetch,
  };
  const e = await refusal(transfer(transport, reservation, blob(1000, "text/plain"), false));
  assert.equal(e.code, "upload_too_large");
  assert.equal(e.status, 403);
  const quota = await stowage.quota();
  assert.equal(quota.usedBytes, 0);
  assert.equal(quota.reservedBytes, 0, "the failed upload's reservation was cancelled");
});

Deno.test("uploadMany uploads every file with per-path progress", async () => {
  const { stowage } = await session();
  const last = new Map<string, number>();
  const result = await stowage.uploadMany(
    [
      { file: blob(100), path: "batch/a.bin" },
      { file: blob(200), path: "batch/b.bin" },
      { file: blob(300, "application/json"), path: "batch/c.json" },
    ],
    { bucket: LMS, concurrency: 2, onProgress: (path, p) => last.set(path, p.fraction) },
  );
  assert.deepEqual(result.failed, []);
  assert.deepEqual(result.uploaded.map((u) => u.path).sort(), [
    "batch/a.bin",
    "batch/b.bin",
    "batch/c.json",
  ]);
  assert.deepEqual([...last.values()], [1, 1, 1]);
  assert.equal((await stowage.quota()).usedBytes, 600);
});

Deno.test("uploadMany reserves all or nothing: over quota, no file moves", async () => {
  const { stowage } = await session({ quotaBytes: 250 });
  const e = await refusal(stowage.uploadMany(
    [{ file: blob(200), path: "a.bin" }, { file: blob(100), path: "b.bin" }],
    { bucket: LMS },
  ));
  assert.equal(e.code, "quota_exceeded");
  const quota = await stowage.quota();
  assert.equal(quota.usedBytes + quota.reservedBytes, 0);
});

/** A client for `user` whose fetch runs `hook` on each request before passing it on. */
async function watched(
  token: string,
  hook: (method: string, url: URL) => Promise<void> | void,
  after?: (method: string, url: URL) => void,
) {
  return createStowage({
    url: (await stack()).url,
    getToken: () => token,
    fetch: async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const method = init?.method ?? "GET";
      await hook(method, url);
      try {
        return await fetch(input, init);
      } finally {
        after?.(method, url);
      }
    },
  });
}

Deno.test("an upload aborted while its bytes go cancels its reservation: reservedBytes goes back to 0", async () => {
  const { user, stowage } = await session();
  const controller = new AbortController();
  let during: Quota | undefined;
  const client = await watched(user.token, async (method, url) => {
    if (method !== "PUT" || !url.pathname.startsWith("/storage/v1/")) return;
    during = await stowage.quota(); // the reservation holds the bytes while they go
    controller.abort();
  });
  const e = await refusal(
    client.upload(blob(5000), { bucket: LMS, path: "aborted.bin", signal: controller.signal }),
  );
  assert.equal(e.code, "aborted");
  assert.equal(during?.reservedBytes, 5000);
  const quota = await stowage.quota();
  assert.equal(quota.reservedBytes, 0, "the reservation was cancelled");
  assert.equal(quota.usedBytes, 0);
  assert.deepEqual((await stowage.list({ bucket: LMS })).items, []);
});

Deno.test("an upload aborted while its reservation answers cancels the reservation the server made", async () => {
  const { user, stowage } = await session();
  const controller = new AbortController();
  const client = createStowage({
    url: (await stack()).url,
    getToken: () => user.token,
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      // The answer's headers are in, its body not yet read: the user cancels now.
      if (init?.method === "POST") controller.abort();
      return res;
    },
  });
  const e = await refusal(
    client.upload(blob(700), { bucket: LMS, path: "early.bin", signal: controller.signal }),
  );
  assert.equal(e.code, "aborted");
  assert.equal((await stowage.quota()).reservedBytes, 0, "the reservation was cancelled");
});

Deno.test("uploadMany with concurrency 2 never has more than 2 PUTs in flight, and reaches 2", async () => {
  const { user, stowage } = await session();
  let inFlight = 0;
  let most = 0;
  const isPut = (method: string, url: URL) =>
    method === "PUT" && url.pathname.startsWith("/storage/v1/");
  const client = await watched(
    user.token,
    (method, url) => {
      if (isPut(method, url)) most = Math.max(most, ++inFlight);
    },
    (method, url) => {
      if (isPut(method, url)) inFlight--;
    },
  );
  const files = Array.from({ length: 7 }, (_, i) => ({ file: blob(100 + i), path: `c/${i}.bin` }));
  const result = await client.uploadMany(files, { bucket: LMS, concurrency: 2 });
  assert.equal(result.uploaded.length, 7);
  assert.deepEqual(result.failed, []);
  assert.equal(most, 2);
  assert.equal((await stowage.quota()).objectCount, 7);
});

Deno.test("uploadMany aborted cancels every file's reservation, started or not", async () => {
  const { user, stowage } = await session();
  const controller = new AbortController();
  const client = await watched(user.token, (method, url) => {
    if (method === "PUT" && url.pathname.startsWith("/storage/v1/")) controller.abort();
  });
  const files = Array.from({ length: 5 }, (_, i) => ({ file: blob(1000), path: `m/${i}.bin` }));
  const result = await client.uploadMany(files, {
    bucket: LMS,
    concurrency: 2,
    signal: controller.signal,
  });
  assert.deepEqual(result.uploaded, []);
  assert.deepEqual(result.failed.map((f) => f.error.code), Array(5).fill("aborted"));
  const quota = await stowage.quota();
  assert.equal(quota.reservedBytes, 0);
  assert.equal(quota.usedBytes, 0);
});
