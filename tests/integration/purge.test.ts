/**
 * Deleting a user deletes their files: the trigger on auth.users queues the
 * user (as GoTrue deletes, logged in as supabase_auth_admin); POST /admin/purge
 * drains the queue through the Storage API across several budgeted calls; the
 * user's counters, reservations, plan and assistant rows go with the files;
 * nothing outside their homes is touched; an interrupted purge resumes; a live
 * user's files are never purged.
 */
import assert from "node:assert/strict";
import { adminSql, createUser, stack, type TestUser } from "../support/stack.ts";
import {
  api,
  AUDIO,
  CODE,
  expectError,
  inProcessFunction,
  LMS,
  seedKeys,
  upload,
} from "../support/storage.ts";

/** The user's home prefix in each managed bucket. */
function homes(user: TestUser): Record<string, string> {
  return { [LMS]: `user_data/${user.id}/`, [AUDIO]: `${user.id}/`, [CODE]: `${user.id}/` };
}

/** Seeds `n` files spread over the user's three homes (rows, as a migration leaves them). */
async function seedThreeBuckets(user: TestUser, n: number): Promise<void> {
  const h = homes(user);
  const third = Math.floor(n / 3);
  const keys = (prefix: string, count: number, ext: string) =>
    Array.from({ length: count }, (_, i) => `${prefix}p${i % 4}/c${i % 9}/f-${i}.${ext}`);
  await seedKeys(LMS, keys(h[LMS], n - 2 * third, "json"), 10, "application/json");
  await seedKeys(AUDIO, keys(h[AUDIO], third, "mp3"), 10, "audio/mpeg");
  await seedKeys(CODE, keys(h[CODE], third, "tar.gz"), 10, "application/gzip");
}

/** Objects, usage, reservations and rows Stowage holds for a user. */
async function footprint(user: TestUser) {
  const sql = await adminSql();
  try {
    const h = homes(user);
    const [row] = await sql<Record<string, number>[]>`
      select
        (select count(*)::int from storage.objects o
          where (o.bucket_id = ${LMS} and starts_with(o.name, ${h[LMS]}))
             or (o.bucket_id = ${AUDIO} and starts_with(o.name, ${h[AUDIO]}))
             or (o.bucket_id = ${CODE} and starts_with(o.name, ${h[CODE]}))) as objects,
        (select count(*)::int from stowage.usage where user_id = ${user.id}) as usage,
        (select count(*)::int from stowage.reservations where user_id = ${user.id}) as reservations,
        (select count(*)::int from stowage.user_plans where user_id = ${user.id}) as plans,
        (select count(*)::int from stowage.assistants where user_id = ${user.id}) as assistants,
        (select count(*)::int from stowage.assistant_positions where user_id = ${user.id})
          as positions,
        (select count(*)::int from stowage.purge_queue where user_id = ${user.id}) as queued`;
    return row;
  } finally {
    await sql.end();
  }
}

/** Deletes the auth user the way GoTrue does (logged in as supabase_auth_admin). */
async function deleteAuthUser(user: TestUser, soft = false): Promise<void> {
  const sql = await adminSql();
  try {
    await sql.begin(async (tx) => {
      await tx`set local role supabase_auth_admin`;
      await tx`set local search_path = auth`;
      if (soft) await tx`update users set deleted_at = now() where id = ${user.id}`;
      else await tx`delete from users where id = ${user.id}`;
    });
  } finally {
    await sql.end();
  }
}

async function service(): Promise<string> {
  return (await stack()).secretKey;
}

/** Calls POST /admin/purge until done; returns the calls and the objects deleted. */
async function purgeUntilDone(body: Record<string, unknown>, maxCalls = 80) {
  const key = await service();
  let calls = 0;
  let deleted = 0;
  for (;;) {
    const got = await api("POST", "/admin/purge", key, body);
    assert.equal(got.status, 200, JSON.stringify(got.body));
    calls++;
    deleted += got.body.deleted;
    if (got.body.done) return { calls, deleted, last: got.body };
    assert.ok(calls < maxCalls, `not done after ${calls} calls: ${JSON.stringify(got.body)}`);
  }
}

Deno.test("a deleted user's 2,500 files in three buckets are purged across several calls, counters and rows with them", async () => {
  const victim = await createUser({ plan: "paid" });
  const survivor = await createUser();
  await seedThreeBuckets(victim, 2500);
  await upload(victim, LMS, "real/bytes.txt", "real bytes", "text/plain");
  await seedThreeBuckets(survivor, 30);
  // Outside every home: a key that merely names the user.
  await seedKeys(LMS, [`shared/${victim.id}/index.json`], 5, "application/json");
  const sql = await adminSql();
  try {
    await sql`insert into stowage.assistants (assistant_id, user_id, course_id)
      values (${"asst-" + victim.id}, ${victim.id}, 'course-1')`;
    await sql`insert into stowage.assistant_positions (user_id, course_id, last_position)
      values (${victim.id}, 'course-1', 42)`;
  } finally {
    await sql.end();
  }
  const reserved = await api("POST", "/uploads", victim.token, {
    bucket: LMS,
    path: "pending.txt",
    size: 3,
    contentType: "text/plain",
  });
  assert.equal(reserved.status, 201);
  const survivorBefore = await footprint(survivor);
  assert.equal(survivorBefore.objects, 30);

  await deleteAuthUser(victim);
  const queued = await footprint(victim);
  assert.equal(queued.queued, 1, "the delete queued the user");
  assert.equal(queued.reservations, 0, "and dropped their reservations");
  assert.equal(queued.assistants + queued.positions + queued.plans, 0, "rows cascaded");
  assert.equal(queued.objects, 2501);
  // The deleted user's token is still valid for a while: it can reserve nothing.
  expectError(
    await api("POST", "/uploads", victim.token, {
      bucket: LMS,
      path: "late.txt",
      size: 1,
      contentType: "text/plain",
    }),
    403,
    "forbidden",
  );

  const { calls, deleted } = await purgeUntilDone({ budgetMs: 100 });
  assert.ok(calls >= 2, `expected several calls, got ${calls}`);
  assert.equal(deleted, 2501);
  assert.deepEqual(await footprint(victim), {
    objects: 0,
    usage: 0,
    reservations: 0,
    plans: 0,
    assistants: 0,
    positions: 0,
    queued: 0,
  });
  assert.deepEqual(await footprint(survivor), survivorBefore);
  const check = await adminSql();
  try {
    const [{ n }] = await check<{ n: number }[]>`select count(*)::int as n from storage.objects
      where bucket_id = ${LMS} and name = ${`shared/${victim.id}/index.json`}`;
    assert.equal(n, 1, "a key outside the homes stays");
    const [{ events }] = await check<{ events: number }[]>`
      select count(*)::int as events from stowage.events where user_id = ${victim.id}
        and kind = 'deleted'`;
    assert.equal(events, 2501, "each removal is an event");
  } finally {
    await check.end();
  }
  const survivorQuota = await api("GET", "/quota", survivor.token);
  assert.equal(survivorQuota.body.objectCount, 30);
});

Deno.test("an interrupted purge (Storage down) loses nothing and the next call finishes it", async () => {
  const victim = await createUser();
  await seedThreeBuckets(victim, 60);
  await deleteAuthUser(victim);
  const broken = await inProcessFunction({ SUPABASE_URL: "http://127.0.0.1:9" });
  try {
    const failed = await api(
      "POST",
      "/admin/purge",
      await service(),
      { userId: victim.id, budgetMs: 2000 },
      broken.fetch,
    );
    expectError(failed, 502, "storage_unavailable");
  } finally {
    await broken.end();
  }
  const after = await footprint(victim);
  assert.equal(after.objects, 60);
  assert.equal(after.queued, 1);
  const { deleted } = await purgeUntilDone({ userId: victim.id });
  assert.equal(deleted, 60);
  assert.equal((await footprint(victim)).objects, 0);
});

Deno.test("a soft-deleted user is queued and purged too", async () => {
  const victim = await createUser();
  await seedThreeBuckets(victim, 9);
  await deleteAuthUser(victim, true);
  assert.equal((await footprint(victim)).queued, 1);
  const { deleted } = await purgeUntilDone({ userId: victim.id });
  assert.equal(deleted, 9);
  assert.deepEqual({ ...(await footprint(victim)) }, {
    objects: 0,
    usage: 0,
    reservations: 0,
    plans: 0,
    assistants: 0,
    positions: 0,
    queued: 0,
  });
});

Deno.test("a live user's files are never purged, even if queued by hand", async () => {
  const live = await createUser();
  await seedThreeBuckets(live, 6);
  const sql = await adminSql();
  try {
    await sql`insert into stowage.purge_queue (user_id, reason) values (${live.id}, 'orphaned')`;
    const got = await api("POST", "/admin/purge", await service(), { userId: live.id });
    expectError(got, 403, "forbidden");
    assert.equal((await footprint(live)).objects, 6);
  } finally {
    await sql`delete from stowage.purge_queue where user_id = ${live.id}`;
    await sql.end();
  }
});

Deno.test("POST /admin/purge: users 403, no token 401, a user not queued 404; orphans can be queued", async () => {
  const user = await createUser();
  expectError(await api("POST", "/admin/purge", user.token, {}), 403, "forbidden");
  expectError(await api("POST", "/admin/purge", null, {}), 401, "unauthorized");
  expectError(
    await api("POST", "/admin/purge", await service(), { userId: user.id }),
    404,
    "not_found",
  );
  // Files of a user deleted before Stowage was installed: no queue row, until asked for.
  const ghost = { id: crypto.randomUUID(), email: "", token: "" };
  await seedThreeBuckets(ghost, 3);
  const got = await api("POST", "/admin/purge", await service(), { orphans: true });
  assert.equal(got.status, 200, JSON.stringify(got.body));
  assert.ok(got.body.queuedOrphans >= 1);
  await purgeUntilDone({});
  assert.equal((await footprint(ghost)).objects, 0);
});
