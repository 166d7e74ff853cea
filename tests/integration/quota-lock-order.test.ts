/**
 * @module A user's delete and an overwrite of the same key take the per-user
 * usage lock in the same order (usage row, then object rows), so the two
 * never deadlock; the counters stay right.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { adminSql, createUser, stack } from "../support/stack.ts";

Deno.test("a user's delete racing an overwrite of the same key never deadlocks", async () => {
  const user = await createUser();
  const key = `${user.id}/race/a.mp3`;
  const url = (await stack()).adminDbUrl;
  const admin = await adminSql();
  const deleter = postgres(url, { max: 1, onnotice: () => {} });
  const writer = postgres(url, { max: 1, onnotice: () => {} });
  const meta = (size: number) => ({ size, mimetype: "audio/mpeg", contentLength: size });
  try {
    // The object, written directly as the service would (counted by the triggers).
    await admin`insert into storage.objects (bucket_id, name, metadata)
                values ('audiofiles', ${key}, ${admin.json(meta(100))})`;
    let releaseWriter!: () => void;
    let writerHoldsLock!: () => void;
    const lockHeld = new Promise<void>((r) => writerHoldsLock = r);
    const writerDone = writer.begin(async (tx) => {
      // The overwrite's first step: its BEFORE INSERT trigger locks the user's usage row.
      await tx`select stowage.lock_usage(${user.id}::uuid)`;
      writerHoldsLock();
      await new Promise<void>((r) => releaseWriter = r);
      // ... then it needs the object row, which the delete must not hold by now.
      await tx`insert into storage.objects (bucket_id, name, metadata)
               values ('audiofiles', ${key}, ${tx.json(meta(300))})
               on conflict (name, bucket_id) do update set metadata = excluded.metadata`;
    });
    await lockHeld;
    const deleted = deleter.begin(async (tx) => {
      await tx`select set_config('role', 'authenticated', true),
                      set_config('request.jwt.claims', ${
        JSON.stringify({ sub: user.id, role: "authenticated" })
      }, true),
                      set_config('storage.allow_delete_query', 'true', true)`;
      return await tx`delete from storage.objects where bucket_id = 'audiofiles' and name = ${key}
                      returning name`;
    });
    await new Promise((r) => setTimeout(r, 300)); // the delete is now waiting on a lock
    releaseWriter();
    const results = await Promise.allSettled([writerDone, deleted]);
    for (const r of results) {
      assert.equal(r.status, "fulfilled", r.status === "rejected" ? String(r.reason) : "");
    }
    const [row] = await admin`select count(*)::int as n from storage.objects
                              where bucket_id = 'audiofiles' and name = ${key}`;
    assert.equal(row.n, 0, "the delete ran after the overwrite and removed the object");
    const [usage] =
      await admin`select bytes::int, objects::int from stowage.usage where user_id = ${user.id}`;
    assert.deepEqual({ ...usage }, { bytes: 0, objects: 0 });
  } finally {
    await Promise.all([deleter.end(), writer.end(), admin.end()]);
  }
});
