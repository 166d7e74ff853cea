/**
 * @module `stowage migrate`'s verify step against the local stack when the stored eTag is
 * no plain MD5 (an S3 backend's multipart tag on hosted projects): the copy is read back.
 */
import assert from "node:assert/strict";
import { createUser, stack } from "../support/stack.ts";
import { writeFile } from "../support/cli.ts";
import { execute } from "../../cli/migrate/executor.ts";
import { LocalSource } from "../../cli/migrate/source-local.ts";
import { Journal } from "../../cli/migrate/journal.ts";
import { StorageApi } from "../../cli/migrate/storage-api.ts";
import { MigrationDb, type StoredObject } from "../../cli/migrate/database.ts";
import type { PlanItem } from "../../cli/migrate/planner.ts";

/** A local source that has been listed (it opens and deletes only files its listing gave). */
async function listed(root: string): Promise<LocalSource> {
  const source = new LocalSource(root);
  for await (const _ of source.list()) { /* listed */ }
  return source;
}

Deno.test("verify with a multipart-style eTag reads the copy back: a same-size corruption is caught, the source kept", async () => {
  const creds = await stack();
  const db = new MigrationDb(creds.dbUrl);
  const api = new StorageApi(creds.url, creds.secretKey);
  const dir = await Deno.makeTempDir({ prefix: "stowage-cli-verify-" });
  try {
    const user = await createUser();
    const target = `user_data/${user.id}/song.json`;
    await writeFile(`${dir}/src/song.json`, '{"a":1}');
    const item: PlanItem = {
      source: "song.json",
      size: 7,
      stamp: "s",
      target,
      action: "copy",
      contentType: "application/json",
      userId: user.id,
    };
    // What a hosted S3 backend reports for a multipart upload: no comparable MD5. Before
    // answering, the stored bytes are replaced by same-size garbage (a corrupted copy).
    const stored = async (bucket: string, name: string): Promise<StoredObject | null> => {
      const garbage = new Blob(['{"a":2}']).stream();
      await api.upload(bucket, name, garbage, {
        size: 7,
        contentType: "application/json",
        upsert: true,
        sha256: false,
      });
      const row = await db.object(bucket, name);
      return row && { ...row, md5: null };
    };
    const journal = await Journal.open(`${dir}/j`);
    const result = await execute([item], {
      bucket: "anantra-lms-store",
      concurrency: 1,
      retries: 0,
      verify: "etag",
      deleteAfter: true,
    }, { source: await listed(`${dir}/src`), api, stored, journal });
    await journal.close();
    assert.deepEqual(result.copied, []);
    assert.deepEqual(result.failed.map((f) => f.code), ["verify_failed"]);
    assert.match(result.failed[0].message, /read-back MD5/);
    assert.deepEqual(result.deleted, [], "an unverified source is never deleted");
    assert.equal(await Deno.readTextFile(`${dir}/src/song.json`), '{"a":1}');
    assert.equal(await db.object("anantra-lms-store", target), null, "the bad copy is removed");
  } finally {
    await db.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an upload refused as already there counts as copied only when a read-back proves the same bytes", async () => {
  const creds = await stack();
  const db = new MigrationDb(creds.dbUrl);
  const api = new StorageApi(creds.url, creds.secretKey);
  const dir = await Deno.makeTempDir({ prefix: "stowage-cli-verify-" });
  try {
    const user = await createUser();
    const item = (name: string): PlanItem => ({
      source: name,
      size: 7,
      stamp: "s",
      target: `user_data/${user.id}/${name}`,
      action: "copy",
      contentType: "application/json",
      userId: user.id,
    });
    // Committed before (a killed run, or a retry whose answer was lost): one with the
    // source's bytes, one with other bytes of the same size.
    for (const [name, text] of [["same.json", '{"a":1}'], ["other.json", '{"a":2}']]) {
      await writeFile(`${dir}/src/${name}`, '{"a":1}');
      await api.upload("anantra-lms-store", item(name).target, new Blob([text]).stream(), {
        size: 7,
        contentType: "application/json",
        upsert: false,
        sha256: false,
      });
    }
    // A multipart-style eTag, as hosted S3 backends report: nothing to compare MD5 with.
    const stored = async (bucket: string, name: string): Promise<StoredObject | null> => {
      const row = await db.object(bucket, name);
      return row && { ...row, md5: null };
    };
    for (const verify of ["etag", "full"] as const) {
      const journal = await Journal.open(`${dir}/j-${verify}`);
      const result = await execute([item("same.json"), item("other.json")], {
        bucket: "anantra-lms-store",
        concurrency: 1,
        retries: 0,
        verify,
        deleteAfter: false,
      }, { source: await listed(`${dir}/src`), api, stored, journal });
      await journal.close();
      assert.deepEqual(result.copied.map((c) => c.source), ["same.json"], verify);
      assert.deepEqual(
        result.failed.map((f) => [f.source, f.code]),
        [["other.json", "KeyAlreadyExists"]],
        verify,
      );
    }
  } finally {
    await db.close();
    await Deno.remove(dir, { recursive: true });
  }
});
