/**
 * @module The client's resumable (TUS) uploads against the local stack: large files go with
 * tus-js-client in 6 MiB chunks, a handle pauses and resumes, an upload broken off is continued
 * by a new client from the URL storage (as after a page reload), abort frees everything, and
 * TUS refusals and network failures arrive as StowageError codes.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createStowage, memoryUrlStorage, type Progress, StowageError } from "./mod.ts";
import { type ResumableReservation, startResumable } from "./resumable.ts";
import { LMS, session } from "./testing.ts";
import { client, stack } from "../../tests/support/stack.ts";

const MiB = 1024 * 1024;

function bytes(n: number, seed: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x >> 16;
  }
  return b;
}

function file(n: number, seed: number, name = `f${seed}.bin`): File {
  return new File([bytes(n, seed)], name, {
    type: "application/octet-stream",
    lastModified: 1_700_000_000_000 + seed,
  });
}

async function sha256(b: Blob | Uint8Array): Promise<string> {
  const data = b instanceof Blob ? new Uint8Array(await b.arrayBuffer()) : b;
  return createHash("sha256").update(data).digest("hex");
}

async function stored(token: string, key: string): Promise<string> {
  const { data, error } = await (await client(token)).storage.from(LMS).download(key);
  assert.equal(error, null);
  return await sha256(data!);
}

async function refusal(promise: Promise<unknown>): Promise<StowageError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof StowageError, `expected a StowageError, got ${error}`);
    return error;
  }
  assert.fail("expected the upload to fail");
}

/** Resolves once progress reaches `bytes` (a chunk stored on the server). */
function reached(seen: Progress[], bytes: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (seen.some((p) => p.loaded >= bytes)) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
}

Deno.test("a file above 6 MiB goes resumably (TUS chunks) and lands whole", async () => {
  const { user, stowage } = await session();
  const f = file(7 * MiB, 1);
  const seen: Progress[] = [];
  const result = await stowage.upload(f, {
    bucket: LMS,
    path: "big/seven.bin",
    onProgress: (p) => seen.push(p),
  });
  assert.equal(result.size, f.size);
  assert.equal(await stored(user.token, result.key), await sha256(f));
  // TUS reports the first 6 MiB chunk on its own; a single PUT from Deno reports only 0 and 100 %.
  assert.ok(seen.some((p) => p.loaded >= 6 * MiB && p.loaded < f.size), "chunked progress");
  assert.equal(seen.at(-1)?.fraction, 1);
  const quota = await stowage.quota();
  assert.equal(quota.usedBytes, f.size);
  assert.equal(quota.reservedBytes, 0);
});

Deno.test("resumable: false sends even a large file in one PUT; resumable: true a small one with TUS", async () => {
  const { user, stowage } = await session();
  const seen: Progress[] = [];
  const big = file(7 * MiB, 2);
  await stowage.upload(big, {
    bucket: LMS,
    path: "one-put.bin",
    resumable: false,
    onProgress: (p) => seen.push(p),
  });
  assert.deepEqual(seen.map((p) => p.loaded), [0, big.size]);
  const small = file(1000, 3);
  const r = await stowage.upload(small, { bucket: LMS, path: "small.bin", resumable: true });
  assert.equal(await stored(user.token, r.key), await sha256(small));
});

Deno.test("startUpload pauses and resumes; the bytes stored before the pause are not sent again", async () => {
  const { user, stowage } = await session();
  const f = file(14 * MiB, 4);
  const seen: Progress[] = [];
  const handle = stowage.startUpload(f, {
    bucket: LMS,
    path: "paused.bin",
    onProgress: (p) => seen.push(p),
  });
  await reached(seen, 6 * MiB);
  await handle.pause();
  assert.equal(handle.state, "paused");
  const quota = await stowage.quota();
  assert.equal(quota.reservedBytes, f.size, "the reservation holds while paused");
  assert.equal(quota.usedBytes, 0);
  seen.length = 0;
  handle.resume();
  assert.equal(handle.state, "uploading");
  const result = await handle.done;
  assert.equal(handle.state, "done");
  assert.ok(seen[0].loaded >= 6 * MiB, `resumed at ${seen[0].loaded}, not at 0`);
  assert.equal(await stored(user.token, result.key), await sha256(f));
  assert.equal((await stowage.quota()).usedBytes, f.size);
});

Deno.test("a new client continues an upload broken off by an earlier one (URL storage, same file)", async () => {
  const { user } = await session();
  const { url } = await stack();
  const urlStorage = memoryUrlStorage();
  const make = () => createStowage({ url, getToken: () => user.token, urlStorage });
  const f = file(14 * MiB, 5, "talk.bin");
  const seen: Progress[] = [];
  const first = make().startUpload(f, {
    bucket: LMS,
    path: "talk.bin",
    onProgress: (p) => seen.push(p),
  });
  await reached(seen, 6 * MiB);
  await first.pause(); // the page goes away: no abort, no cancel
  assert.equal((await urlStorage.findAllUploads()).length, 1, "the upload URL is remembered");

  // A reload: a new client, the same File chosen again, the same path.
  const again: Progress[] = [];
  const second = make().startUpload(f, {
    bucket: LMS,
    path: "talk.bin",
    onProgress: (p) => again.push(p),
  });
  const result = await second.done;
  assert.ok(second.resumedFrom >= 6 * MiB, `continued from ${second.resumedFrom}`);
  assert.ok(again.filter((p) => p.loaded > 0)[0].loaded >= 6 * MiB, "first chunk not re-sent");
  assert.equal(await stored(user.token, result.key), await sha256(f));
  assert.deepEqual(await urlStorage.findAllUploads(), [], "forgotten once finished");
  const quota = await make().quota();
  assert.equal(quota.usedBytes, f.size);
  assert.equal(quota.reservedBytes, 0);

  // Another file of the same size to another path starts afresh.
  const other = make().startUpload(file(14 * MiB, 6, "talk.bin"), { bucket: LMS, path: "t2.bin" });
  await other.done;
  assert.equal(other.resumedFrom, 0);
});

Deno.test("abort ends the TUS upload, frees the reservation, and rejects with aborted", async () => {
  const { stowage } = await session();
  const seen: Progress[] = [];
  const handle = stowage.startUpload(file(14 * MiB, 7), {
    bucket: LMS,
    path: "gone.bin",
    onProgress: (p) => seen.push(p),
  });
  await reached(seen, 6 * MiB);
  await handle.abort();
  const e = await refusal(handle.done);
  assert.equal(e.code, "aborted");
  assert.equal(handle.state, "failed");
  const quota = await stowage.quota();
  assert.equal(quota.reservedBytes, 0);
  assert.equal(quota.usedBytes, 0);
  assert.deepEqual((await stowage.list({ bucket: LMS, prefix: "" })).items, []);

  // An AbortSignal does the same for upload().
  const controller = new AbortController();
  const p = stowage.upload(file(14 * MiB, 8), {
    bucket: LMS,
    path: "signal.bin",
    signal: controller.signal,
    onProgress: (x) => x.loaded > 0 && controller.abort(),
  });
  assert.equal((await refusal(p)).code, "aborted");
  assert.equal((await stowage.quota()).reservedBytes, 0);
});

Deno.test("refusals: quota before any byte; the Storage API's TUS refusal as its code", async () => {
  const { user, stowage } = await session({ quotaBytes: 8 * MiB });
  const e = await refusal(stowage.upload(file(9 * MiB, 9), { bucket: LMS, path: "x.bin" }));
  assert.equal(e.code, "quota_exceeded");
  assert.equal(e.status, 507);

  // A reservation for 10 bytes, 7 MiB sent: refused at the last byte, nothing stored.
  const { url } = await stack();
  const reserve = async () => {
    const res = await fetch(`${url}/functions/v1/storage/uploads`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
      body: JSON.stringify({
        bucket: LMS,
        path: "liar.bin",
        size: 10,
        contentType: "application/octet-stream",
        resumable: true,
      }),
    });
    assert.equal(res.status, 201);
    return await res.json() as ResumableReservation;
  };
  let cancelled = 0;
  const handle = startResumable(file(7 * MiB, 10), {
    reserve,
    cancel: () => {
      cancelled++;
      return Promise.resolve(null);
    },
  }, { retryDelays: [] });
  const tooLarge = await refusal(handle.done);
  assert.equal(tooLarge.code, "upload_too_large");
  assert.equal(tooLarge.status, 403);
  assert.equal(cancelled, 1, "the reservation is cancelled after a refusal");
  assert.deepEqual((await stowage.list({ bucket: LMS, prefix: "" })).items, []);
});

Deno.test("a TUS endpoint that cannot be reached is a network_error", async () => {
  const { user } = await session();
  const { url } = await stack();
  const res = await fetch(`${url}/functions/v1/storage/uploads`, {
    method: "POST",
    headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
    body: JSON.stringify({
      bucket: LMS,
      path: "nowhere.bin",
      size: 10,
      contentType: "application/octet-stream",
      resumable: true,
    }),
  });
  const reservation = await res.json() as ResumableReservation;
  // A port nobody listens on: bind one, note it, close it.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  reservation.resumable.endpoint = `http://127.0.0.1:${port}/storage/v1/upload/resumable/sign`;
  const handle = startResumable(file(10, 11), {
    reserve: () => Promise.resolve(reservation),
    cancel: () => Promise.resolve(null),
  }, { retryDelays: [] });
  const e = await refusal(handle.done);
  assert.equal(e.code, "network_error");
  assert.equal(e.status, 0);
});

Deno.test("uploadMany sends its large files with TUS under the batch's reservation", async () => {
  const { user, stowage } = await session();
  const big = file(7 * MiB, 12);
  const small = file(2000, 13);
  const seen = new Map<string, number[]>();
  const result = await stowage.uploadMany([
    { file: big, path: "many/big.bin" },
    { file: small, path: "many/small.bin" },
  ], {
    bucket: LMS,
    onProgress: (path, p) => seen.set(path, [...(seen.get(path) ?? []), p.loaded]),
  });
  assert.deepEqual(result.failed, []);
  const keys = new Map(result.uploaded.map((u) => [u.path, u.key]));
  assert.equal(await stored(user.token, keys.get("many/big.bin")!), await sha256(big));
  assert.equal(await stored(user.token, keys.get("many/small.bin")!), await sha256(small));
  assert.ok(seen.get("many/big.bin")!.some((n) => n >= 6 * MiB && n < big.size), "chunked");
  assert.deepEqual(seen.get("many/small.bin"), [0, small.size], "one PUT");
  const quota = await stowage.quota();
  assert.equal(quota.usedBytes, big.size + small.size);
  assert.equal(quota.reservedBytes, 0);
});
