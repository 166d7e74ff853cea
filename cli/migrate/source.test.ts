import assert from "node:assert/strict";
import { parseS3Url, parseTarget, unsafeKeyProblem } from "./source.ts";
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
  assert.throws(() => parseS3Url("s3://b/a/../c"), /prefix has a "\.\." segment/);
  assert.throws(() => parseS3Url("s3://b/a//c"), /empty segment/);
});

Deno.test("unsafeKeyProblem refuses empty, . and .. segments and nothing else", () => {
  for (const key of ["../x", "a/../b", "a/./b", "./x", "a//b", "/a", "a/", "", "..", "."]) {
    assert.notEqual(unsafeKeyProblem(key), null, key);
  }
  for (const key of ["a", "a/b.c", "...", "a/..b", "a/b../c", ".x/y", "a b/ c"]) {
    assert.equal(unsafeKeyProblem(key), null, key);
  }
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
  assert.deepEqual(listed.map((o) => [o.key, o.size, o.refusal?.code]), [
    ["top.txt", 0, undefined],
    ["u/loop", 0, "source_symlink"],
    ["u/p/c/a.mp3", 3, undefined],
  ]);
  assert.equal(await new Response((await src.open("u/p/c/a.mp3")).body).text(), "abc");
  await src.remove("u/p/c/a.mp3");
  await assert.rejects(Deno.stat(`${dir}/u/p/c/a.mp3`), Deno.errors.NotFound);
  await assert.rejects(src.open("../etc/passwd"), { code: "source_not_listed" });
  await assert.rejects(src.open("u/loop"), { code: "source_not_listed" });
  await Deno.remove(dir, { recursive: true });
});

/** A source folder with `sub/secret.txt`, and an outside folder with a file of the same name. */
async function swapFixture() {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/src/sub`, { recursive: true });
  await Deno.mkdir(`${dir}/outside`);
  await Deno.writeTextFile(`${dir}/src/sub/secret.txt`, "inside");
  await Deno.writeTextFile(`${dir}/outside/secret.txt`, "OUTSIDE");
  const src = new LocalSource(`${dir}/src`);
  for await (const _ of src.list()) { /* listed */ }
  return { dir, src };
}

Deno.test("LocalSource: a folder swapped for a symlink after the listing is neither read nor deleted through", async () => {
  const { dir, src } = await swapFixture();
  try {
    await Deno.rename(`${dir}/src/sub`, `${dir}/moved`);
    await Deno.symlink(`${dir}/outside`, `${dir}/src/sub`);
    await assert.rejects(src.open("sub/secret.txt"), {
      code: "source_replaced",
      message: /folder "sub" is now a symlink/,
    });
    await assert.rejects(src.remove("sub/secret.txt"), { code: "source_replaced" });
    assert.equal(await Deno.readTextFile(`${dir}/outside/secret.txt`), "OUTSIDE");
    assert.equal(await Deno.readTextFile(`${dir}/moved/secret.txt`), "inside");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LocalSource: a folder or file replaced by another one (new inode) is refused", async () => {
  const { dir, src } = await swapFixture();
  try {
    // Another real folder in its place (renamed in from outside): same names, other inodes.
    await Deno.rename(`${dir}/src/sub`, `${dir}/moved`);
    await Deno.rename(`${dir}/outside`, `${dir}/src/sub`);
    await assert.rejects(src.open("sub/secret.txt"), {
      code: "source_replaced",
      message: /folder "sub" is not the folder listed/,
    });
    await assert.rejects(src.remove("sub/secret.txt"), { code: "source_replaced" });
    assert.equal(await Deno.readTextFile(`${dir}/src/sub/secret.txt`), "OUTSIDE");
    // The folder back, but the file itself now a symlink to an outside file.
    await Deno.rename(`${dir}/src/sub`, `${dir}/outside`);
    await Deno.rename(`${dir}/moved`, `${dir}/src/sub`);
    await Deno.remove(`${dir}/src/sub/secret.txt`);
    await Deno.symlink(`${dir}/outside/secret.txt`, `${dir}/src/sub/secret.txt`);
    await assert.rejects(src.open("sub/secret.txt"), { code: "source_replaced" });
    await assert.rejects(src.remove("sub/secret.txt"), { code: "source_replaced" });
    assert.equal(await Deno.readTextFile(`${dir}/outside/secret.txt`), "OUTSIDE");
    assert.ok((await Deno.lstat(`${dir}/src/sub/secret.txt`)).isSymlink, "the link is kept too");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LocalSource: the file listed, still in place, is read and deleted", async () => {
  const { dir, src } = await swapFixture();
  try {
    assert.equal(await new Response((await src.open("sub/secret.txt")).body).text(), "inside");
    await src.remove("sub/secret.txt");
    await assert.rejects(Deno.lstat(`${dir}/src/sub/secret.txt`), Deno.errors.NotFound);
    await assert.rejects(src.open("sub/secret.txt"), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
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
