/**
 * @module `stowage migrate` sends large files resumably (TUS, 6 MiB chunks) and says so; an
 * upload broken off midway is continued by a later run from the server's offset (the URL kept in
 * `<plan>.tus.json`), its first bytes not sent again; `--resumable-above` sets the threshold.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { adminSql, createUser, stack } from "../support/stack.ts";
import { bytes, runCli, writeFile } from "../support/cli.ts";
import { StorageApi } from "../../cli/migrate/storage-api.ts";
import { parseSize } from "../../cli/migrate/options.ts";

const MiB = 1024 * 1024;
const LMS = "anantra-lms-store";

function env(): Record<string, string> {
  return { STOWAGE_CREDENTIALS: Deno.env.get("STOWAGE_CREDENTIALS") ?? "" };
}

const hex = (algorithm: string, b: Uint8Array) => createHash(algorithm).update(b).digest("hex");

/** The stored object's bytes, read back with the service key. */
async function storedBytes(key: string): Promise<Uint8Array> {
  const s = await stack();
  const res = await fetch(`${s.url}/storage/v1/object/authenticated/${LMS}/${key}`, {
    headers: { authorization: `Bearer ${s.serviceRoleKey}`, apikey: s.serviceRoleKey },
  });
  assert.equal(res.status, 200);
  return new Uint8Array(await res.arrayBuffer());
}

/** A stream of `data` that fails after `failAfter` bytes (a source or link dropping midway). */
function stream(data: Uint8Array, failAfter = Infinity): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= failAfter) return controller.error(new Error("connection reset"));
      if (at >= data.length) return controller.close();
      const end = Math.min(at + 256 * 1024, data.length);
      controller.enqueue(data.slice(at, end));
      at = end;
    },
  });
}

Deno.test("migrate sends files above --resumable-above with TUS, the others in one request, and says which", async () => {
  const dir = await Deno.makeTempDir({ prefix: "stowage-cli-tus-" });
  const sql = await adminSql();
  try {
    const user = await createUser();
    const big = bytes(14 * MiB, 3);
    const mid = bytes(2 * MiB, 4);
    const small = bytes(3000, 5);
    await writeFile(`${dir}/src/user_data/${user.id}/big.bin`, big);
    await writeFile(`${dir}/src/user_data/${user.id}/mid.bin`, mid);
    await writeFile(`${dir}/src/user_data/${user.id}/small.bin`, small);
    const args = ["migrate", `${dir}/src`, "--to", LMS, "--execute", "--plan-out"];
    const run = await runCli([...args, `${dir}/plan.json`, "--resumable-above", "1MiB"], env());
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(
      run.stderr,
      /2 file\(s\) above 1\.0 MiB go resumably \(TUS, 6 MiB chunks; .*\); 1 in one streamed request each\./,
    );
    const report = JSON.parse(await Deno.readTextFile(`${dir}/plan.json.report.json`));
    const via = Object.fromEntries(
      report.copied.map((c: { source: string; via: string }) => [c.source.split("/").pop(), c.via]),
    );
    assert.deepEqual(via, { "big.bin": "tus", "mid.bin": "tus", "small.bin": "put" });
    assert.equal(report.counts.failed, 0);
    for (
      const [name, data] of [["big.bin", big], ["mid.bin", mid], ["small.bin", small]] as const
    ) {
      const key = `user_data/${user.id}/${name}`;
      assert.equal(hex("sha256", await storedBytes(key)), hex("sha256", data), name);
      const [row] = await sql`select metadata from storage.objects
        where bucket_id = ${LMS} and name = ${key}`;
      assert.equal(row.metadata.size, data.length);
      assert.equal(row.metadata.eTag, `"${hex("md5", data)}"`);
    }
    // The finished uploads are forgotten.
    const state = JSON.parse(await Deno.readTextFile(`${dir}/plan.json.tus.json`));
    assert.deepEqual(state, {});

    // "off": everything in one request each.
    const user2 = await createUser();
    await writeFile(`${dir}/src2/user_data/${user2.id}/big.bin`, big);
    const off = await runCli([
      "migrate",
      `${dir}/src2`,
      "--to",
      LMS,
      "--execute",
      "--plan-out",
      `${dir}/plan2.json`,
      "--resumable-above",
      "off",
    ], env());
    assert.equal(off.code, 0, off.stderr);
    assert.doesNotMatch(off.stderr, /resumably/);
    const report2 = JSON.parse(await Deno.readTextFile(`${dir}/plan2.json.report.json`));
    assert.equal(report2.copied[0].via, "put");

    const bad = await runCli([...args, `${dir}/p3.json`, "--resumable-above", "lots"], env());
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Cannot use --resumable-above "lots": expected a size/);
  } finally {
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a TUS upload broken off midway is continued by a later run from the server's offset", async () => {
  const s = await stack();
  const dir = await Deno.makeTempDir({ prefix: "stowage-cli-tus-resume-" });
  try {
    const user = await createUser();
    const key = `user_data/${user.id}/long.bin`;
    const data = bytes(20 * MiB, 8);
    const tusState = `${dir}/plan.json.tus.json`;
    const opts = {
      size: data.length,
      contentType: "application/octet-stream",
      upsert: false,
      sha256: true,
      fingerprint: `${LMS}\n${key}\nlong.bin\nv1\n${data.length}`,
    };
    // First run: the source drops after 9 MiB, once the first 6 MiB chunk is stored.
    const first = new StorageApi(s.url, s.serviceRoleKey, { tusState });
    let sentFirst = 0;
    await assert.rejects(
      first.uploadResumable(LMS, key, stream(data, 9 * MiB), {
        ...opts,
        onBytes: (n) => sentFirst += n,
      }),
      (e: Error & { code?: string; transient?: boolean }) =>
        e.code === "network_error" && e.transient === true,
    );
    const kept = JSON.parse(await Deno.readTextFile(tusState));
    assert.equal(Object.keys(kept).length, 1, "the upload URL is kept for a later run");

    // A later run (a new process: a new StorageApi on the same state file) continues it.
    const later = new StorageApi(s.url, s.serviceRoleKey, { tusState });
    let resumedAt = -1;
    let counted = 0;
    const sent = await later.uploadResumable(LMS, key, stream(data), {
      ...opts,
      onBytes: (n) => counted += n,
      onResume: (offset) => resumedAt = offset,
    });
    assert.equal(resumedAt, 6 * MiB, "continued at the first chunk's end, not at 0");
    assert.equal(counted, data.length, "progress counts the whole file");
    assert.equal(sent.md5, hex("md5", data), "the skipped bytes are hashed too");
    assert.equal(sent.sha256, hex("sha256", data));
    assert.equal(hex("sha256", await storedBytes(key)), hex("sha256", data));
    assert.deepEqual(JSON.parse(await Deno.readTextFile(tusState)), {}, "forgotten when done");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a source that yields more bytes than planned is refused as source_changed, never stored", async () => {
  const s = await stack();
  const user = await createUser();
  const key = `user_data/${user.id}/grown.bin`;
  const api = new StorageApi(s.url, s.serviceRoleKey);
  const data = bytes(7 * MiB, 9);
  await assert.rejects(
    api.uploadResumable(LMS, key, stream(data), {
      size: 7 * MiB - 10,
      contentType: "application/octet-stream",
      upsert: false,
      sha256: false,
      fingerprint: `grown-${key}`,
    }),
    (e: Error & { code?: string; transient?: boolean }) =>
      e.code === "source_changed" && e.transient === false,
  );
  const sql = await adminSql();
  try {
    const rows =
      await sql`select 1 from storage.objects where bucket_id = ${LMS} and name = ${key}`;
    assert.equal(rows.length, 0);
  } finally {
    await sql.end();
  }
});

Deno.test("parseSize reads bytes, binary and decimal units, and off", () => {
  assert.equal(parseSize("x", "1048576"), 1048576);
  assert.equal(parseSize("x", "6MiB"), 6 * MiB);
  assert.equal(parseSize("x", "20MB"), 20_000_000);
  assert.equal(parseSize("x", "1.5 GiB"), 1.5 * 1024 * MiB);
  assert.equal(parseSize("x", "off"), null);
  assert.throws(() => parseSize("x", "-1"), /expected a size/);
});
