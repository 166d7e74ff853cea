/**
 * @module Acceptance race (issue 13): 100 rounds, each racing on the same keys an overwrite
 * (reserve, then PUT to the signed URL), a delete through the Storage API, a move there and
 * back, the storage function's `DELETE /folders`, and a reservation plus upload of another
 * key, all with the user's own JWT over HTTP. No answer may be a 5xx (a refusal or a 409 is
 * fine); afterwards reconcile finds no drift, and the bytes stored never exceeded the plan
 * (sampled throughout, and enforced by the triggers at every write).
 */
import assert from "node:assert/strict";
import { adminSql, client, createUser } from "../support/stack.ts";
import { api, LMS } from "../support/storage.ts";

const QUOTA = 1000;
const ROUNDS = 100;

Deno.test(`${ROUNDS} rounds of overwrite vs delete vs move vs folder delete vs reservation: no 5xx, no drift, never over the plan`, async () => {
  const user = await createUser();
  const admin = await adminSql();
  const plan = `race-${user.id.slice(0, 8)}`;
  await admin`insert into stowage.plans (id, quota_bytes) values (${plan}, ${QUOTA})`;
  await admin`select stowage.set_plan(${user.id}::uuid, ${plan})`;
  const home = `user_data/${user.id}/`;
  const sb = await client(user.token);
  const anon = await client();
  const serverErrors: string[] = [];
  const statuses = new Map<string, number>();
  // Every 5xx fails the test (a database error such as a deadlock's "database error, code:
  // 40P01", or a move whose source bytes vanished mid-copy answered 500 instead of S3's 404
  // NoSuchKey). 507 is our coded quota_exceeded refusal.
  const note = (op: string, status: number, text: string, code?: string) => {
    const key = status === 403 ? `${op} 403 ${text.split(":")[0]}` : `${op} ${status}`;
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
    if (status >= 500 && !(status === 507 && text.includes('"quota_exceeded"'))) {
      serverErrors.push(`${op}: ${status} ${code ?? ""} ${text}`);
    }
  };
  // Storage API errors: the HTTP status, or the body's statusCode (the server answers most
  // errors with HTTP 400 and the real status there).
  const storageStatus = (error: unknown): number => {
    if (!error) return 200;
    const e = error as { status?: number; statusCode?: string | number };
    return Math.max(Number(e.status ?? 0), Number(e.statusCode ?? 0)) || 400;
  };
  const text = (error: unknown) => (error as Error | null)?.message ?? "";
  const code = (error: unknown) => (error as { code?: string } | null)?.code;

  async function overwrite(path: string, size: number): Promise<void> {
    const r = await api("POST", "/uploads", user.token, {
      bucket: LMS,
      path,
      size,
      contentType: "text/plain",
      upsert: true,
    });
    note("reserve", r.status, JSON.stringify(r.body));
    if (r.status !== 201) return;
    const { error } = await anon.storage.from(LMS).uploadToSignedUrl(
      r.body.key,
      r.body.token,
      new Blob([new Uint8Array(size).fill(97)], { type: "text/plain" }),
      { contentType: "text/plain" },
    );
    note("signed PUT", storageStatus(error), text(error), code(error));
  }

  let sampling = true;
  let maxStored = 0;
  const sampler = (async () => {
    while (sampling) {
      const [row] = await admin`select coalesce(sum((metadata->>'size')::bigint), 0)::bigint as b
        from storage.objects where bucket_id = ${LMS} and name like ${home + "%"}`;
      maxStored = Math.max(maxStored, Number(row.b));
      await new Promise((r) => setTimeout(r, 25));
    }
  })();

  try {
    for (let round = 0; round < ROUNDS; round++) {
      const size = 300 + (round % 4) * 50;
      await Promise.all([
        ...["a", "b"].flatMap((k) => [
          overwrite(`r/${k}.txt`, size / 2),
          (async () => {
            const { error } = await sb.storage.from(LMS).remove([`${home}r/${k}.txt`]);
            note("remove", storageStatus(error), text(error), code(error));
          })(),
        ]),
        (async () => {
          const there = await sb.storage.from(LMS).move(`${home}r/a.txt`, `${home}r/m.txt`);
          note("move", storageStatus(there.error), text(there.error), code(there.error));
          const back = await sb.storage.from(LMS).move(`${home}r/m.txt`, `${home}r/a.txt`);
          note("move back", storageStatus(back.error), text(back.error), code(back.error));
        })(),
        (async () => {
          const r = await api("DELETE", "/folders", user.token, { bucket: LMS, prefix: "r/" });
          note("DELETE /folders", r.status, JSON.stringify(r.body));
        })(),
        overwrite(round % 2 ? "r/c.txt" : "r/m.txt", 400),
      ]);
    }
  } finally {
    sampling = false;
    await sampler;
  }
  try {
    assert.deepEqual(serverErrors, [], JSON.stringify(Object.fromEntries(statuses)));
    const [drift] = await admin`select * from stowage.reconcile(${user.id}::uuid)`;
    assert.equal(Number(drift.bytes_before), Number(drift.bytes_after), "bytes drift");
    assert.equal(Number(drift.objects_before), Number(drift.objects_after), "objects drift");
    assert.ok(maxStored <= QUOTA, `stored ${maxStored} bytes of a ${QUOTA}-byte plan`);
    assert.ok(Number(drift.bytes_after) <= QUOTA);
    // The race did race: uploads landed and deletes removed something.
    assert.ok(
      (statuses.get("signed PUT 200") ?? 0) > 0,
      JSON.stringify(Object.fromEntries(statuses)),
    );
    console.log(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
  } finally {
    await admin.end();
  }
});
