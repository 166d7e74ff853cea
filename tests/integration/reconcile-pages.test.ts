/**
 * The paged reconcile over all users (`POST /admin/reconcile` without a user,
 * `stowage reconcile`): interrupted after a page and resumed from its cursor,
 * the counters are exact afterwards; bad cursors and options are refused.
 *
 * Each test makes its own users with ids that sort together (a random prefix),
 * so a walk can start just before them and stop after a known number of users.
 */
import assert from "node:assert/strict";
import { runCli } from "../support/cli.ts";
import { adminSql, stack } from "../support/stack.ts";
import { api, AUDIO, CODE, expectError, LMS, seedKeys } from "../support/storage.ts";

interface Drifted {
  /** The users, in id order. */
  ids: string[];
  /** The cursor just before the first of them. */
  before: string;
  /** The exact bytes/objects of each user, from their objects. */
  truth: Map<string, { bytes: number; objects: number }>;
}

/**
 * Makes four users with objects in the three buckets, then puts their counters off as the
 * database owner would find them after a bug: wrong bytes, wrong objects, a missing row, and
 * an expired reservation.
 */
async function driftedUsers(): Promise<Drifted> {
  const prefix = crypto.randomUUID().slice(0, 8);
  const ids = [1, 2, 3, 4].map((i) => `${prefix}-0000-4000-8000-00000000000${i}`);
  const sql = await adminSql();
  try {
    for (const id of ids) {
      await sql`insert into auth.users (id, email, aud, role)
        values (${id}, ${`rp-${id}@test.example`}, 'authenticated', 'authenticated')`;
    }
    const truth = new Map<string, { bytes: number; objects: number }>();
    for (const [i, id] of ids.entries()) {
      const n = 3 + i;
      await seedKeys(LMS, Array.from({ length: n }, (_, k) => `user_data/${id}/c/f${k}.json`), 10);
      await seedKeys(AUDIO, [`${id}/p/ch/s/a.mp3`], 1000, "audio/mpeg");
      await seedKeys(CODE, [`${id}/proj/generations/v1__x.tar.gz`], 7, "application/gzip");
      truth.set(id, { bytes: n * 10 + 1000 + 7, objects: n + 2 });
    }
    await sql`update stowage.usage set bytes = bytes + 13 where user_id = ${ids[0]}`;
    await sql`update stowage.usage set objects = objects - 2 where user_id = ${ids[1]}`;
    await sql`delete from stowage.usage where user_id = ${ids[2]}`;
    await sql`insert into stowage.reservations (user_id, bucket_id, name, size, content_type,
        live_until)
      values (${ids[3]}, ${LMS}, ${`user_data/${ids[3]}/late.json`}, 5, 'application/json',
        now() - interval '1 minute')`;
    await sql`update stowage.usage set bytes = 0, objects = 0 where user_id = ${ids[3]}`;
    return { ids, before: `${prefix}-0000-4000-8000-000000000000`, truth };
  } finally {
    await sql.end();
  }
}

async function counters(ids: string[]): Promise<Map<string, { bytes: number; objects: number }>> {
  const sql = await adminSql();
  try {
    const rows = await sql<{ user_id: string; bytes: number; objects: number }[]>`
      select user_id::text, bytes::int, objects::int from stowage.usage
       where user_id = any(${ids}::uuid[])`;
    return new Map(rows.map((r) => [r.user_id, { bytes: r.bytes, objects: r.objects }]));
  } finally {
    await sql.end();
  }
}

async function expiredReservations(id: string): Promise<number> {
  const sql = await adminSql();
  try {
    const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n
      from stowage.reservations where user_id = ${id} and live_until <= now()`;
    return n;
  } finally {
    await sql.end();
  }
}

Deno.test("POST /admin/reconcile pages: interrupted after two users, resumed from the cursor, counters exact", async () => {
  const service = (await stack()).serviceRoleKey;
  const { ids, before, truth } = await driftedUsers();

  const first = await api("POST", "/admin/reconcile", service, { cursor: before, limit: 2 });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(first.body.checked, 2);
  assert.equal(first.body.done, false);
  assert.equal(first.body.cursor, ids[1], "the cursor is the last user checked");
  assert.deepEqual(first.body.users.map((u: { userId: string }) => u.userId), ids.slice(0, 2));
  assert.deepEqual(first.body.users[0], {
    userId: ids[0],
    bytesBefore: truth.get(ids[0])!.bytes + 13,
    bytesAfter: truth.get(ids[0])!.bytes,
    objectsBefore: truth.get(ids[0])!.objects,
    objectsAfter: truth.get(ids[0])!.objects,
    droppedReservations: 0,
  });
  // Interrupted: the users after the cursor are still off.
  const midway = await counters(ids);
  assert.deepEqual(midway.get(ids[0]), truth.get(ids[0]));
  assert.deepEqual(midway.get(ids[1]), truth.get(ids[1]));
  assert.equal(midway.get(ids[2]), undefined, "user 3 still has no counter row");
  assert.deepEqual(midway.get(ids[3]), { bytes: 0, objects: 0 });

  // Resumed: call again with the cursor until done.
  let cursor: string | null = first.body.cursor;
  const fixed: { userId: string; droppedReservations: number }[] = [];
  for (let calls = 0; cursor !== null; calls++) {
    assert.ok(calls < 10_000, "the walk ends");
    const next = await api("POST", "/admin/reconcile", service, { cursor, budgetMs: 100 });
    assert.equal(next.status, 200, JSON.stringify(next.body));
    assert.ok(next.body.checked >= 1, "every call makes progress");
    assert.equal(next.body.cursor === null, next.body.done);
    fixed.push(...next.body.users);
    cursor = next.body.cursor;
  }
  const mine = fixed.filter((u) => ids.includes(u.userId));
  assert.deepEqual(mine.map((u) => u.userId), ids.slice(2), "users 1-2 are not fixed twice");
  assert.equal(mine[1].droppedReservations, 1);
  const after = await counters(ids);
  for (const id of ids) assert.deepEqual(after.get(id), truth.get(id), id);
  assert.equal(await expiredReservations(ids[3]), 0);

  // Nothing left: a walk over the same users finds no drift.
  const again = await api("POST", "/admin/reconcile", service, { cursor: before, limit: 4 });
  assert.equal(again.status, 200);
  assert.deepEqual(again.body.users, []);
  assert.equal(again.body.checked, 4);
});

Deno.test("POST /admin/reconcile: the one-user form answers the same shape; bad cursors are 400", async () => {
  const service = (await stack()).serviceRoleKey;
  const { ids, truth } = await driftedUsers();
  const one = await api("POST", "/admin/reconcile", service, { userId: ids[0] });
  assert.equal(one.status, 200, JSON.stringify(one.body));
  assert.deepEqual(
    { ...one.body, users: one.body.users.map((u: { userId: string }) => u.userId) },
    { users: [ids[0]], checked: 1, cursor: null, done: true },
  );
  assert.deepEqual((await counters([ids[0]])).get(ids[0]), truth.get(ids[0]));
  expectError(
    await api("POST", "/admin/reconcile", service, { cursor: "nope" }),
    400,
    "invalid_request",
  );
  expectError(
    await api("POST", "/admin/reconcile", service, { userId: ids[0], cursor: ids[1] }),
    400,
    "invalid_request",
  );
  expectError(
    await api("POST", "/admin/reconcile", service, { limit: 0 }),
    400,
    "invalid_request",
  );
  expectError(
    await api("POST", "/admin/reconcile", service, { budgetMs: 5 }),
    400,
    "invalid_request",
  );
});

Deno.test("stowage reconcile: stopped after a round, resumed with --cursor, counters exact", async () => {
  const { ids, before, truth } = await driftedUsers();
  const first = await runCli([
    "reconcile",
    "--cursor",
    before,
    "--limit",
    "3",
    "--max-rounds",
    "1",
  ]);
  assert.equal(first.code, 0, first.stderr + first.stdout);
  assert.match(
    first.stderr,
    new RegExp(`round 1: 3 users checked, 3 fixed; next cursor ${ids[2]}`),
  );
  assert.match(first.stdout, new RegExp(`resume with --cursor ${ids[2]}`));
  assert.deepEqual((await counters(ids)).get(ids[3]), { bytes: 0, objects: 0 }, "not reached yet");

  const resumed = await runCli(["reconcile", "--cursor", ids[2], "--json"]);
  assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout);
  const rounds = resumed.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(rounds.at(-1).done, true);
  assert.equal(rounds.at(-1).cursor, null);
  const mine = rounds.flatMap((r) => r.users).filter((u) => ids.includes(u.userId));
  assert.deepEqual(mine.map((u) => u.userId), [ids[3]]);
  assert.match(resumed.stderr, /\(done\)/);
  const after = await counters(ids);
  for (const id of ids) assert.deepEqual(after.get(id), truth.get(id), id);

  const user = await runCli(["reconcile", "--user", ids[0]]);
  assert.equal(user.code, 0, user.stderr);
  assert.match(user.stdout, new RegExp(`${ids[0]}: bytes ${truth.get(ids[0])!.bytes} -> `));
});

Deno.test("stowage reconcile: --help, bad options exit 2", async () => {
  const help = await runCli(["reconcile", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: stowage reconcile/);
  for (
    const args of [
      ["--cursor", "nope"],
      ["--budget-ms", "0"],
      ["--limit", "x"],
      ["--user", crypto.randomUUID(), "--cursor", crypto.randomUUID()],
      ["--what"],
    ]
  ) {
    const bad = await runCli(["reconcile", ...args]);
    assert.equal(bad.code, 2, `${args.join(" ")}: ${bad.stderr}`);
    assert.match(bad.stderr, /invalid_usage/);
  }
});
