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

Deno.test("verify with a multipart-style eTag reads the copy back: a same-size corruption is caught, the source kept", async () => {
  const creds = await stack();
  const db = new MigrationDb(creds.dbUrl);
  const api = new StorageApi(creds.url, creds.serviceRoleKey);
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
    }, { source: new LocalSource(`${dir}/src`), api, stored, journal });
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
