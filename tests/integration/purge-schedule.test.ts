/**
 * docs/backends.md schedules the purge of deleted users with pg_cron + pg_net
 * on a hosted project. Neither extension exists in the local stack, so this
 * test sends what that job sends, through the gateway: `net.http_post` to
 * `<project>/functions/v1/storage/admin/purge` with the headers built by
 * `jsonb_build_object('Content-Type', 'application/json', 'apikey', <secret key from
 * Vault>)` and the body `'{"budgetMs": 20000}'::jsonb`,
 * once per tick, until the deleted user's files are gone; and checks what the
 * job's `net._http_response` rows would hold on success and with a wrong key.
 */
import assert from "node:assert/strict";
import { adminSql, createUser, functionUrl, stack, type TestUser } from "../support/stack.ts";
import { AUDIO, LMS, seedKeys, upload } from "../support/storage.ts";

/**
 * One tick of the cron job: the request pg_net makes (POST, JSON body, the two headers). An API
 * key (`sb_...`) goes as `apikey`, as the docs' job sends it; a JWT as `Authorization: Bearer`.
 */
async function tick(key: string, body = '{"budgetMs": 20000}') {
  const auth: Record<string, string> = key.startsWith("sb_")
    ? { apikey: key }
    : { Authorization: `Bearer ${key}` };
  const response = await fetch(`${await functionUrl("storage")}/admin/purge`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...auth, "User-Agent": "pg_net/0.14" },
    body,
  });
  return { status: response.status, content: JSON.parse(await response.text()) };
}

async function deleteAuthUser(user: TestUser): Promise<void> {
  const sql = await adminSql();
  try {
    await sql.begin(async (tx) => {
      await tx`set local role supabase_auth_admin`;
      await tx`delete from auth.users where id = ${user.id}`;
    });
  } finally {
    await sql.end();
  }
}

async function objectsOf(user: TestUser): Promise<number> {
  const sql = await adminSql();
  try {
    const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from storage.objects
      where (bucket_id = ${LMS} and starts_with(name, ${`user_data/${user.id}/`}))
         or (bucket_id = ${AUDIO} and starts_with(name, ${`${user.id}/`}))`;
    return n;
  } finally {
    await sql.end();
  }
}

Deno.test("the scheduled purge request (pg_net's POST, headers and JSON body) drains a deleted user's files tick by tick", async () => {
  const gone = await createUser();
  const stays = await createUser();
  await upload(gone, LMS, "course/real.json", '{"a":1}', "application/json");
  await seedKeys(LMS, Array.from({ length: 40 }, (_, i) => `user_data/${gone.id}/c/${i}.json`));
  await seedKeys(AUDIO, [`${gone.id}/p/c/s/a.mp3`], 10, "audio/mpeg");
  await upload(stays, LMS, "course/mine.json", "{}", "application/json");
  await deleteAuthUser(gone);
  assert.equal(await objectsOf(gone), 42);

  const { secretKey } = await stack();
  let ticks = 0;
  let last;
  do {
    last = await tick(secretKey);
    assert.equal(last.status, 200, JSON.stringify(last.content));
    ticks++;
    assert.ok(ticks < 20, JSON.stringify(last.content));
  } while (!last.content.done);
  assert.equal(await objectsOf(gone), 0);
  assert.equal(await objectsOf(stays), 1);
  assert.equal(last.content.queued, 0);
  for (const field of ["deleted", "queued", "queuedOrphans", "prunedEvents"]) {
    assert.equal(typeof last.content[field], "number", field);
  }
  // A tick with nothing queued is cheap and says so; pg_net's default body ('{}') works too.
  const idle = await tick(secretKey, "{}");
  assert.equal(idle.status, 200);
  assert.deepEqual(
    { users: idle.content.users, deleted: idle.content.deleted, done: idle.content.done },
    { users: [], deleted: 0, done: true },
  );
});

Deno.test("the scheduled purge request with a wrong or user key is refused with a coded JSON error", async () => {
  const { anonKey, publishableKey } = await stack();
  const user = await createUser();
  for (
    const [key, status, code] of [
      ["sb_secret_not-this-projects-key", 401, "unauthorized"],
      [anonKey, 401, "unauthorized"],
      [publishableKey, 401, "unauthorized"],
      [user.token, 403, "forbidden"],
    ] as const
  ) {
    const refused = await tick(key);
    assert.equal(refused.status, status);
    assert.equal(refused.content.error.code, code);
  }
});
