/**
 * DELETE /folders and concurrency over real HTTP: a 2,500-file course deleted
 * across several budgeted calls with its quota freed, parallel deletes of one
 * folder, and 100 parallel reservations against a nearly full quota.
 */
import assert from "node:assert/strict";
import { adminSql, createUser, type TestUser } from "../support/stack.ts";
import {
  type Answer,
  api,
  expectError,
  LMS,
  removeKeys,
  seedLms as seed,
} from "../support/storage.ts";

function course(n: number): string[] {
  return Array.from(
    { length: n },
    (_, i) => `course-9/unit-${i % 10}/lesson-${i % 7}/file-${i}.json`,
  );
}

Deno.test("DELETE /folders removes 2,500 nested objects across several calls and frees quota", async () => {
  const user = await createUser();
  await seed(user, course(2500));
  await seed(user, ["course-10/keep.json", "course-9.json"]);
  assert.equal((await api("GET", "/quota", user.token)).body.objectCount, 2502);

  let calls = 0;
  let deleted = 0;
  let last: Answer;
  do {
    last = await api("DELETE", "/folders", user.token, {
      bucket: LMS,
      prefix: "course-9/",
      budgetMs: 100,
    });
    assert.equal(last.status, 200, JSON.stringify(last.body));
    assert.deepEqual(last.body.failed, []);
    deleted += last.body.deleted;
    calls++;
  } while (!last.body.done && calls < 20);
  assert.equal(last.body.done, true);
  assert.equal(last.body.remaining, 0);
  assert.equal(deleted, 2500);
  assert.ok(calls >= 2, `expected several calls, got ${calls}`);

  const quota = (await api("GET", "/quota", user.token)).body;
  assert.equal(quota.objectCount, 2);
  assert.equal(quota.usedBytes, 20);
  const left = await api("GET", `/objects?bucket=${LMS}&recursive=true`, user.token);
  assert.deepEqual(left.body.items.map((i: { path: string }) => i.path), [
    "course-10/keep.json",
    "course-9.json",
  ]);
});

Deno.test("two parallel deletes of one folder end with everything deleted once", async () => {
  const user = await createUser();
  await seed(user, course(1200));
  const [a, b] = await Promise.all(
    [1, 2].map(() => api("DELETE", "/folders", user.token, { bucket: LMS, prefix: "course-9/" })),
  );
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.equal(b.status, 200, JSON.stringify(b.body));
  assert.equal(a.body.deleted + b.body.deleted, 1200);
  assert.equal(a.body.remaining + b.body.remaining, 0);
  const quota = (await api("GET", "/quota", user.token)).body;
  assert.equal(quota.objectCount, 0);
  assert.equal(quota.usedBytes, 0);
});

Deno.test("a remove retried after a deadlock in its second half still counts every object deleted", async () => {
  // The Storage server deletes a remove call's keys in transactions of 500. A call of 1,000
  // whose second transaction loses a deadlock has already committed its first 500; sent
  // again, it can only report the second 500. A fault trigger makes the row at sorted index
  // 700 fail once with 40P01 (a sequence counts attempts: it is not rolled back).
  const user = await createUser();
  const paths = Array.from({ length: 1000 }, (_, i) => `f/k-${String(i).padStart(4, "0")}.txt`);
  await seed(user, paths);
  const admin = await adminSql();
  const tag = crypto.randomUUID().replaceAll("-", "").slice(0, 12);
  const fn = `public.fail_once_${tag}`;
  const seq = `${fn}_seq`;
  const key = `user_data/${user.id}/f/k-0700.txt`;
  try {
    await admin.unsafe(`create sequence ${seq}`);
    await admin.unsafe(`create function ${fn}() returns trigger language plpgsql
      security definer set search_path = '' as $$
      begin
        if nextval('${seq}') = 1 then
          raise exception 'injected deadlock' using errcode = '40P01';
        end if;
        return old;
      end $$`);
    await admin.unsafe(`create trigger fail_once_${tag} before delete on storage.objects
      for each row when (old.name = '${key}') execute function ${fn}()`);
    const r = await api("DELETE", "/folders", user.token, { bucket: LMS, prefix: "f/" });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const [{ last_value: attempts }] = await admin.unsafe(`select last_value from ${seq}`);
    assert.ok(Number(attempts) >= 2, "the fault fired and the remove was sent again");
    assert.deepEqual(r.body.failed, []);
    assert.equal(r.body.done, true);
    assert.equal(r.body.deleted, 1000, JSON.stringify(r.body));
  } finally {
    await admin.unsafe(`drop trigger if exists fail_once_${tag} on storage.objects`);
    await admin.unsafe(`drop function if exists ${fn}()`);
    await admin.unsafe(`drop sequence if exists ${seq}`);
    await admin.end();
  }
});

Deno.test("DELETE /folders: home needs confirm, bad prefixes and buckets refused, others untouched", async () => {
  const alice = await createUser();
  const bob = await createUser();
  await seed(alice, ["c/1.json", "c/2.json", "top.txt"]);
  expectError(
    await api("DELETE", "/folders", alice.token, { bucket: LMS, prefix: "" }),
    400,
    "invalid_request",
  );
  for (const prefix of ["c", "/c/", "../", "c//", "a/../"]) {
    expectError(
      await api("DELETE", "/folders", alice.token, { bucket: LMS, prefix }),
      400,
      "invalid_path",
    );
  }
  expectError(
    await api("DELETE", "/folders", alice.token, { bucket: "nope", prefix: "c/" }),
    404,
    "not_found",
  );
  expectError(
    await api("DELETE", "/folders", null, { bucket: LMS, prefix: "c/" }),
    401,
    "unauthorized",
  );

  const bobs = await api("DELETE", "/folders", bob.token, {
    bucket: LMS,
    prefix: "",
    confirm: true,
  });
  assert.deepEqual(bobs.body, { deleted: 0, failed: [], remaining: 0, done: true });
  assert.equal((await api("GET", "/quota", alice.token)).body.objectCount, 3);

  const home = await api("DELETE", "/folders", alice.token, {
    bucket: LMS,
    prefix: "",
    confirm: true,
  });
  assert.equal(home.body.deleted, 3);
  assert.equal(home.body.done, true);
});

Deno.test("100 parallel POST /uploads against a nearly full quota never over-reserve", async () => {
  const user = await createUser();
  const quota = 524_288_000;
  await seed(user, ["filler.bin"], quota - 10_000);
  const results = await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      api("POST", "/uploads", user.token, {
        bucket: LMS,
        path: `race/${i}.txt`,
        size: 1000,
        contentType: "text/plain",
      })),
  );
  const passed = results.filter((r) => r.status === 201).length;
  const refused = results.filter((r) => r.status === 507 && r.body.error.code === "quota_exceeded");
  assert.equal(passed, 10);
  assert.equal(refused.length, 90);
  const after = (await api("GET", "/quota", user.token)).body;
  assert.equal(after.reservedBytes, 10_000);
  assert.equal(after.availableBytes, 0);
});

Deno.test("DELETE /folders counts what is left only up to 10,000: remainingCapped says more are left", async () => {
  const user = await createUser();
  // 13,000 rows straight into storage.objects (no bytes: the Storage API removes rows all the
  // same). A 100 ms call deletes well under 3,000 of them (see the 2,500-object test above).
  await seed(user, course(13_000));
  const first = await api("DELETE", "/folders", user.token, {
    bucket: LMS,
    prefix: "course-9/",
    budgetMs: 100,
  });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.ok(first.body.deleted >= 1000, String(first.body.deleted));
  assert.equal(first.body.remaining, 10_000, "the count stops at the cap");
  assert.equal(first.body.remainingCapped, true);
  assert.equal(first.body.done, false);

  // Below the cap the count is exact again, and remainingCapped is absent.
  const keys = await objectKeys(user);
  assert.equal(keys.length, 13_000 - first.body.deleted);
  await removeKeys(LMS, keys.slice(0, keys.length - 10_500));
  const second = await api("DELETE", "/folders", user.token, {
    bucket: LMS,
    prefix: "course-9/",
    budgetMs: 100,
  });
  assert.equal(second.status, 200, JSON.stringify(second.body));
  assert.equal(second.body.remaining, 10_500 - second.body.deleted);
  assert.equal(second.body.remaining, (await objectKeys(user)).length);
  assert.equal("remainingCapped" in second.body, false);

  await removeKeys(LMS, (await objectKeys(user)).slice(1));
  const last = await api("DELETE", "/folders", user.token, { bucket: LMS, prefix: "course-9/" });
  assert.deepEqual(last.body, { deleted: 1, failed: [], remaining: 0, done: true });
});

async function objectKeys(user: TestUser): Promise<string[]> {
  const sql = await adminSql();
  try {
    const rows = await sql<{ name: string }[]>`select name from storage.objects
      where bucket_id = ${LMS} and starts_with(name, ${`user_data/${user.id}/course-9/`})
      order by name collate "C"`;
    return rows.map((r) => r.name);
  } finally {
    await sql.end();
  }
}
