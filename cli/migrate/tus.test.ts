import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { StreamSlices } from "./tus.ts";

const DATA = Uint8Array.from({ length: 100 }, (_, i) => (i * 7 + 3) % 251);
const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");

/** A byte stream (as a local file's) that yields `data` in pieces of at most `piece` bytes. */
function byteStream(data: Uint8Array, piece = 64): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      const request = controller.byobRequest;
      if (at >= data.length) {
        controller.close();
        request?.respond(0);
        return;
      }
      if (request?.view) {
        const view = new Uint8Array(
          request.view.buffer,
          request.view.byteOffset,
          request.view.byteLength,
        );
        const n = Math.min(view.length, piece, data.length - at);
        view.set(data.subarray(at, at + n));
        at += n;
        request.respond(n);
      } else {
        const n = Math.min(piece, data.length - at);
        controller.enqueue(data.slice(at, at + n));
        at += n;
      }
    },
  });
}

/** A plain stream (as an S3 body's) that yields `data` in the given piece sizes, in turn. */
function plainStream(data: Uint8Array, pieces: number[]): ReadableStream<Uint8Array> {
  let at = 0;
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= data.length) return controller.close();
      const n = Math.min(pieces[i++ % pieces.length], data.length - at);
      controller.enqueue(data.slice(at, at + n));
      at += n;
    },
  });
}

async function readAll(source: StreamSlices, chunk: number, from = 0): Promise<Uint8Array> {
  const out: number[] = [];
  for (let start = from; start < source.size; start += chunk) {
    const { value, done } = await source.slice(start, start + chunk);
    out.push(...value);
    assert.equal(done, start + chunk >= source.size);
  }
  return Uint8Array.from(out);
}

Deno.test("StreamSlices reads a byte stream straight into one buffer of a chunk, reused for every slice", async () => {
  const hash = createHash("md5");
  const source = new StreamSlices(byteStream(DATA, 5), DATA.length, [hash], 16);
  assert.equal(source.byob, true);
  const sizes = new Set<number>();
  const out: number[] = [];
  for (let start = 0; start < DATA.length; start += 16) {
    const { value } = await source.slice(start, start + 16);
    sizes.add(value.buffer.byteLength);
    out.push(...value);
  }
  assert.deepEqual(Uint8Array.from(out), DATA);
  assert.equal(hash.digest("hex"), md5(DATA));
  assert.deepEqual([...sizes], [17], "one buffer of a chunk and a byte, never a new one per chunk");
});

Deno.test("StreamSlices copies a plain stream's chunks into its buffer, whatever their sizes", async () => {
  const hash = createHash("md5");
  const source = new StreamSlices(plainStream(DATA, [3, 40, 1, 17]), DATA.length, [hash], 16);
  assert.equal(source.byob, false);
  assert.deepEqual(await readAll(source, 16), DATA);
  assert.equal(hash.digest("hex"), md5(DATA));
});

Deno.test("StreamSlices serves the last slice again (a chunk sent again after a failure)", async () => {
  for (const stream of [byteStream(DATA, 7), plainStream(DATA, [9, 30])]) {
    const source = new StreamSlices(stream, DATA.length, [], 16);
    await source.slice(0, 16);
    const first = Uint8Array.from((await source.slice(16, 32)).value);
    const again = Uint8Array.from((await source.slice(16, 32)).value);
    assert.deepEqual(first, DATA.subarray(16, 32));
    assert.deepEqual(again, first);
    assert.deepEqual(await readAll(source, 16, 32), DATA.subarray(32));
  }
});

Deno.test("StreamSlices resumed at an offset reads and hashes the bytes before it, and serves only from it", async () => {
  for (const stream of [byteStream(DATA, 6), plainStream(DATA, [11, 50])]) {
    const hash = createHash("md5");
    const source = new StreamSlices(stream, DATA.length, [hash], 16);
    assert.deepEqual(await readAll(source, 16, 45), DATA.subarray(45));
    assert.equal(hash.digest("hex"), md5(DATA), "the skipped bytes are hashed too");
  }
});

Deno.test("StreamSlices cannot go back before the slice it served last", async () => {
  const source = new StreamSlices(byteStream(DATA), DATA.length, [], 16);
  await source.slice(0, 16);
  await source.slice(16, 32);
  await assert.rejects(source.slice(0, 16), { code: "tus_offset" });
});

Deno.test("StreamSlices refuses a source longer or shorter than planned as source_changed", async () => {
  for (
    const make of [(d: Uint8Array) => byteStream(d, 8), (d: Uint8Array) => plainStream(d, [8])]
  ) {
    const longer = new StreamSlices(make(DATA), 90, [], 16);
    await assert.rejects(readAll(longer, 16), { code: "source_changed", message: /more than/ });
    assert.equal(longer.failure?.code, "source_changed");
    const exact = new StreamSlices(make(DATA), 96, [], 16);
    await assert.rejects(readAll(exact, 16), { code: "source_changed", message: /more than/ });
    const shorter = new StreamSlices(make(DATA), 120, [], 16);
    await assert.rejects(readAll(shorter, 16), {
      code: "source_changed",
      message: /only 100 bytes/,
    });
  }
});

Deno.test("StreamSlices serves a slice larger than the chunk size it was given (its buffer grows)", async () => {
  for (const stream of [byteStream(DATA, 9), plainStream(DATA, [13])]) {
    const source = new StreamSlices(stream, DATA.length, [], 8);
    assert.deepEqual(Uint8Array.from((await source.slice(0, 30)).value), DATA.subarray(0, 30));
    assert.deepEqual(await readAll(source, 35, 30), DATA.subarray(30));
  }
});
