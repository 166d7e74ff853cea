/**
 * @module The client's listing, deletion, download links and quota against the
 * local stack.
 */
import assert from "node:assert/strict";
import type { ListPage } from "./mod.ts";
import type { FolderProgress } from "./storage.ts";
import { blob, LMS, session } from "./testing.ts";

async function seed(stowage: Awaited<ReturnType<typeof session>>["stowage"], paths: string[]) {
  const result = await stowage.uploadMany(
    paths.map((path, i) => ({ file: blob(10 + i), path })),
    { bucket: LMS, concurrency: 4 },
  );
  assert.deepEqual(result.failed, []);
}

Deno.test("list shows one level: files with sizes and subfolders, in byte order", async () => {
  const { stowage } = await session();
  await seed(stowage, ["c/a.bin", "c/sub/x.bin", "c/sub/deeper/y.bin", "c/b.bin", "other.bin"]);
  const page = await stowage.list({ bucket: LMS, prefix: "c/" });
  assert.deepEqual(page.items.map((f) => [f.path, f.name, f.size]), [
    ["c/a.bin", "a.bin", 10],
    ["c/b.bin", "b.bin", 13],
  ]);
  assert.deepEqual(page.folders, [{ path: "c/sub/", name: "sub" }]);
  assert.equal(page.nextCursor, null);
});

Deno.test("list recursive returns every file below the folder", async () => {
  const { stowage } = await session();
  await seed(stowage, ["r/a.bin", "r/s/b.bin", "r/s/t/c.bin", "elsewhere.bin"]);
  const page = await stowage.list({ bucket: LMS, prefix: "r/", recursive: true });
  assert.deepEqual(page.items.map((f) => f.path), ["r/a.bin", "r/s/b.bin", "r/s/t/c.bin"]);
  assert.deepEqual(page.folders, []);
});

Deno.test("list pages with limit and cursor; listAll iterates over every page", async () => {
  const { stowage } = await session();
  const paths = Array.from({ length: 7 }, (_, i) => `p/f${i}.bin`);
  await seed(stowage, paths);
  const first = await stowage.list({ bucket: LMS, prefix: "p/", limit: 3 });
  assert.equal(first.items.length, 3);
  assert.ok(first.nextCursor);
  const second = await stowage.list({
    bucket: LMS,
    prefix: "p/",
    limit: 3,
    cursor: first.nextCursor,
  });
  assert.deepEqual(second.items.map((f) => f.path), ["p/f3.bin", "p/f4.bin", "p/f5.bin"]);
  const pages: ListPage[] = [];
  for await (const page of stowage.listAll({ bucket: LMS, prefix: "p/", limit: 3 })) {
    pages.push(page);
  }
  assert.deepEqual(pages.map((p) => p.items.length), [3, 3, 1]);
  assert.deepEqual(pages.flatMap((p) => p.items.map((f) => f.path)), paths);
});

Deno.test("list of a bucket Stowage does not manage throws not_found (404)", async () => {
  const { stowage } = await session();
  await assert.rejects(
    stowage.list({ bucket: "no-such-bucket", prefix: "" }),
    (e: { code: string; status: number }) => e.code === "not_found" && e.status === 404,
  );
});

Deno.test("deleteFolder deletes nested files over calls, reports progress, frees the quota", async () => {
  const { stowage } = await session();
  const paths = Array.from({ length: 12 }, (_, i) => `gone/${i % 3}/deep/f${i}.bin`);
  await seed(stowage, [...paths, "kept.bin"]);
  const seen: FolderProgress[] = [];
  const result = await stowage.deleteFolder({
    bucket: LMS,
    prefix: "gone/",
    onProgress: (p) => seen.push(p),
  });
  assert.equal(result.deleted, 12);
  assert.equal(result.remaining, 0);
  assert.deepEqual(result.failed, []);
  assert.equal(seen.length, result.calls);
  assert.equal(seen.at(-1)?.deleted, 12);
  const quota = await stowage.quota();
  assert.equal(quota.objectCount, 1);
  assert.equal(quota.usedBytes, 22);
  const left = await stowage.list({ bucket: LMS, prefix: "", recursive: true });
  assert.deepEqual(left.items.map((f) => f.path), ["kept.bin"]);
});

Deno.test("deleteFolder of the whole home needs confirm", async () => {
  const { stowage } = await session();
  await seed(stowage, ["x.bin"]);
  await assert.rejects(
    stowage.deleteFolder({ bucket: LMS, prefix: "" }),
    (e: { code: string; status: number }) => e.code === "invalid_request" && e.status === 400,
  );
  const result = await stowage.deleteFolder({ bucket: LMS, prefix: "", confirm: true });
  assert.equal(result.deleted, 1);
});

Deno.test("deleteFiles reports deleted and not-found paths", async () => {
  const { stowage } = await session();
  await seed(stowage, ["d/a.bin", "d/b.bin"]);
  const r = await stowage.deleteFiles({ bucket: LMS, paths: ["d/a.bin", "d/missing.bin"] });
  assert.deepEqual(r.deleted, ["d/a.bin"]);
  assert.deepEqual(r.notFound, ["d/missing.bin"]);
  assert.deepEqual(r.failed, []);
});

Deno.test("downloadUrls signs links that return the bytes; a missing file gets an error entry", async () => {
  const { stowage } = await session();
  const bytes = new TextEncoder().encode('{"hello":"world"}');
  await stowage.upload(new Blob([bytes], { type: "application/json" }), {
    bucket: LMS,
    path: "dl/h.json",
  });
  const urls = await stowage.downloadUrls({
    bucket: LMS,
    paths: ["dl/h.json", "dl/none.json"],
    expiresIn: 60,
  });
  assert.equal(urls.length, 2);
  const [ok, missing] = urls;
  assert.ok("signedUrl" in ok, "the existing file has a URL");
  const got = await fetch(ok.signedUrl);
  assert.equal(got.status, 200);
  assert.deepEqual(new Uint8Array(await got.arrayBuffer()), bytes);
  assert.ok("error" in missing, "the missing file has an error");
  assert.equal(missing.error.code, "not_found");
});

Deno.test("quota shows the plan and starts empty", async () => {
  const { stowage } = await session({ plan: "paid" });
  const quota = await stowage.quota();
  assert.equal(quota.plan, "paid");
  assert.equal(quota.quotaBytes, 5368709120);
  assert.equal(quota.usedBytes, 0);
  assert.equal(quota.availableBytes, 5368709120);
});
