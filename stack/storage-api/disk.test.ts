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

/** Runs `fn` on a Disk in a temporary folder, removed afterwards. */
async function withDisk(fn: (disk: Disk, dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "stowage-disk-" });
  try {
    await fn(new Disk(dataDir), dataDir);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

/** Runs one round's calls at once; each rejection becomes a line of `failures`. */
async function race(round: number, failures: string[], calls: Promise<unknown>[]): Promise<void> {
  for (const r of await Promise.allSettled(calls)) {
    if (r.status === "rejected") failures.push(`round ${round}: ${r.reason}`);
  }
}

Deno.test("a write lands while a concurrent remove prunes the folders it is writing into", async () => {
  await withDisk(async (disk) => {
    const key = "user_data/u/r/deep/a.txt";
    await disk.write("b", key, "v0", bytes(10));
    const failures: string[] = [];
    for (let i = 1; i <= 400; i++) {
      // The previous version (and a sibling that shares every folder above the key) go away
      // while the next version is written: the prune races the write's mkdir and open.
      await disk.write("b", "user_data/u/r/deep/sib.txt", `s${i}`, bytes(1));
      await race(i, failures, [
        disk.write("b", key, `v${i}`, bytes(10)),
        disk.remove("b", key, `v${i - 1}`),
        disk.remove("b", "user_data/u/r/deep/sib.txt", `s${i}`),
      ]);
      const file = await disk.open("b", key, `v${i}`);
      if (!file) failures.push(`round ${i}: v${i} is missing after its write resolved`);
      file?.close();
    }
    assert.deepEqual(failures.slice(0, 5), []);
  });
});

Deno.test("a copy lands while a concurrent remove prunes the destination's folders", async () => {
  await withDisk(async (disk) => {
    await disk.write("b", "src/x.txt", "v", bytes(5));
    const failures: string[] = [];
    await disk.write("b", "dst/f/x.txt", "d0", bytes(1));
    for (let i = 1; i <= 400; i++) {
      await race(i, failures, [
        disk.copy({ bucket: "b", key: "src/x.txt", version: "v" }, {
          bucket: "b",
          key: "dst/f/x.txt",
          version: `d${i}`,
        }),
        disk.remove("b", "dst/f/x.txt", `d${i - 1}`),
      ]);
    }
    assert.deepEqual(failures.slice(0, 5), []);
  });
});

Deno.test("a finished TUS file is placed while a concurrent remove prunes its folders", async () => {
  await withDisk(async (disk, dataDir) => {
    const failures: string[] = [];
    await disk.write("b", "t/f/x.bin", "p0", bytes(1));
    for (let i = 1; i <= 400; i++) {
      const source = `${dataDir}/upload-${i}`;
      await Deno.writeFile(source, new Uint8Array(3));
      await race(i, failures, [
        disk.place(source, "b", "t/f/x.bin", `p${i}`),
        disk.remove("b", "t/f/x.bin", `p${i - 1}`),
      ]);
    }
    assert.deepEqual(failures.slice(0, 5), []);
    const last = await disk.open("b", "t/f/x.bin", "p400");
    assert.ok(last, "the last placed version is there");
    last.close();
  });
});

/** Open file descriptors of this process (Linux). */
async function openFds(): Promise<number> {
  let n = 0;
  for await (const _ of Deno.readDir("/proc/self/fd")) n++;
  return n;
}

Deno.test("a copy that cannot create its destination closes its source file", async () => {
  await withDisk(async (disk) => {
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
  });
});
