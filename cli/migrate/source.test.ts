import assert from "node:assert/strict";
import { parseS3Url, parseTarget } from "./source.ts";
import { LocalSource } from "./source-local.ts";
import { mapPool } from "./pool.ts";

Deno.test("parseS3Url and parseTarget read bucket and folder prefix", () => {
  assert.deepEqual(parseS3Url("s3://b"), { bucket: "b", prefix: "" });
  assert.deepEqual(parseS3Url("s3://b/user_data"), { bucket: "b", prefix: "user_data/" });
  assert.deepEqual(parseS3Url("s3://b/a/b/"), { bucket: "b", prefix: "a/b/" });
  assert.throws(() => parseS3Url("http://b"), /s3:\/\/bucket/);
  assert.deepEqual(parseTarget("audiofiles"), { bucket: "audiofiles", prefix: "" });
  assert.deepEqual(parseTarget("lms/imports/2024/"), { bucket: "lms", prefix: "imports/2024/" });
  assert.throws(() => parseTarget("/"), /--to/);
});

Deno.test("LocalSource lists nested files with relative keys, reads and deletes them", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/u/p/c`, { recursive: true });
  await Deno.writeTextFile(`${dir}/u/p/c/a.mp3`, "abc");
  await Deno.writeTextFile(`${dir}/top.txt`, "");
  await Deno.symlink(dir, `${dir}/u/loop`);
  const src = new LocalSource(dir);
  await src.check();
  const listed = [];
  for await (const o of src.list()) listed.push(o);
  listed.sort((a, b) => a.key.localeCompare(b.key));
  assert.deepEqual(listed.map((o) => [o.key, o.size]), [["top.txt", 0], ["u/p/c/a.mp3", 3]]);
  assert.equal(await new Response((await src.open("u/p/c/a.mp3")).body).text(), "abc");
  await src.remove("u/p/c/a.mp3");
  await assert.rejects(Deno.stat(`${dir}/u/p/c/a.mp3`), Deno.errors.NotFound);
  await assert.rejects(src.open("../etc/passwd"), /leaves the source/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("LocalSource refuses a missing directory with a coded error", async () => {
  await assert.rejects(new LocalSource("/nonexistent/dir").check(), { code: "source_unavailable" });
});

Deno.test("mapPool keeps order and bounds concurrency", async () => {
  let active = 0;
  let peak = 0;
  const out = await mapPool([...Array(20).keys()], 3, async (n) => {
    active++;
    peak = Math.max(peak, active);
    await new Promise((r) => setTimeout(r, 2));
    active--;
    return n * 2;
  });
  assert.deepEqual(out, [...Array(20).keys()].map((n) => n * 2));
  assert.equal(peak, 3);
});
