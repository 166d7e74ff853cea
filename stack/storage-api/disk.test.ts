/**
 * @module The file backend under concurrency: writing a new version of a key while another
 * version of it (or a sibling key) is removed. `remove()` prunes the folders it leaves empty,
 * so it can delete the very folder a concurrent `write()` has just created and not yet filled;
 * the write must still land (a real S3 backend has no folders to lose).
 */
import assert from "node:assert/strict";
import { Disk } from "./disk.ts";

function bytes(n: number): ReadableStream<Uint8Array> {
  return new Blob([new Uint8Array(n).fill(97)]).stream();
}

Deno.test("a write lands while a concurrent remove prunes the folders it is writing into", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "stowage-disk-" });
  const disk = new Disk(dataDir);
  try {
    const key = "user_data/u/r/deep/a.txt";
    await disk.write("b", key, "v0", bytes(10));
    const failures: string[] = [];
    for (let i = 1; i <= 400; i++) {
      // The previous version (and a sibling that shares every folder above the key) go away
      // while the next version is written: the prune races the write's mkdir and open.
      await disk.write("b", "user_data/u/r/deep/sib.txt", `s${i}`, bytes(1));
      const results = await Promise.allSettled([
        disk.write("b", key, `v${i}`, bytes(10)),
        disk.remove("b", key, `v${i - 1}`),
        disk.remove("b", "user_data/u/r/deep/sib.txt", `s${i}`),
      ]);
      for (const r of results) {
        if (r.status === "rejected") failures.push(`round ${i}: ${r.reason}`);
      }
      const file = await disk.open("b", key, `v${i}`);
      if (!file) failures.push(`round ${i}: v${i} is missing after its write resolved`);
      file?.close();
    }
    assert.deepEqual(failures.slice(0, 5), []);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a copy lands while a concurrent remove prunes the destination's folders", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "stowage-disk-" });
  const disk = new Disk(dataDir);
  try {
    await disk.write("b", "src/x.txt", "v", bytes(5));
    const failures: string[] = [];
    await disk.write("b", "dst/f/x.txt", "d0", bytes(1));
    for (let i = 1; i <= 400; i++) {
      const results = await Promise.allSettled([
        disk.copy({ bucket: "b", key: "src/x.txt", version: "v" }, {
          bucket: "b",
          key: "dst/f/x.txt",
          version: `d${i}`,
        }),
        disk.remove("b", "dst/f/x.txt", `d${i - 1}`),
      ]);
      for (const r of results) {
        if (r.status === "rejected") failures.push(`round ${i}: ${r.reason}`);
      }
    }
    assert.deepEqual(failures.slice(0, 5), []);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a finished TUS file is placed while a concurrent remove prunes its folders", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "stowage-disk-" });
  const disk = new Disk(dataDir);
  try {
    const failures: string[] = [];
    await disk.write("b", "t/f/x.bin", "p0", bytes(1));
    for (let i = 1; i <= 400; i++) {
      const source = `${dataDir}/upload-${i}`;
      await Deno.writeFile(source, new Uint8Array(3));
      const results = await Promise.allSettled([
        disk.place(source, "b", "t/f/x.bin", `p${i}`),
        disk.remove("b", "t/f/x.bin", `p${i - 1}`),
      ]);
      for (const r of results) {
        if (r.status === "rejected") failures.push(`round ${i}: ${r.reason}`);
      }
    }
    assert.deepEqual(failures.slice(0, 5), []);
    const last = await disk.open("b", "t/f/x.bin", "p400");
    assert.ok(last, "the last placed version is there");
    last.close();
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

/** Open file descriptors of this process (Linux). */
async function openFds(): Promise<number> {
  let n = 0;
  for await (const _ of Deno.readDir("/proc/self/fd")) n++;
  return n;
}

Deno.test("a copy that cannot create its destination closes its source file", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "stowage-disk-" });
  const disk = new Disk(dataDir);
  try {
    await disk.write("b", "src/x.txt", "v", bytes(5));
    await disk.write("b", "dst/x.txt", "taken", bytes(1));
    const before = await openFds();
    for (let i = 0; i < 20; i++) {
      await assert.rejects(
        disk.copy({ bucket: "b", key: "src/x.txt", version: "v" }, {
          bucket: "b",
          key: "dst/x.txt",
          version: "taken",
        }),
        Deno.errors.AlreadyExists,
      );
    }
    assert.ok((await openFds()) < before + 5, "20 failed copies left their sources open");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
