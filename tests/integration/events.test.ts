/**
 * Upload and delete events over real HTTP and the real Storage-API double:
 * every create, overwrite, move, copy, delete and folder delete in a home is
 * recorded once, in order; a backend reads everyone's with the service key, a
 * user only their own; `after` paging is exact while writers commit out of
 * order; pruned cursors are answered, not skipped silently.
 */
import assert from "node:assert/strict";
import { adminSql, client, createUser, stack, type TestUser } from "../support/stack.ts";
import { api, expectError, LMS, upload } from "../support/storage.ts";

interface Ev {
  id: number;
  userId: string;
  bucket: string;
  path: string;
  key: string;
  kind: string;
  size: number;
  contentType: string | null;
  fromBucket: string | null;
  fromPath: string | null;
  operation: string | null;
}

async function service(): Promise<string> {
  return (await stack()).secretKey;
}

/** Every event of a user a backend can read now, page by page from `after`. */
async function readAll(userId: string, after = 0, limit = 3): Promise<Ev[]> {
  const key = await service();
  const all: Ev[] = [];
  for (let page = 0; page < 1000; page++) {
    const got = await api("GET", `/events?after=${after}&limit=${limit}&userId=${userId}`, key);
    assert.equal(got.status, 200, JSON.stringify(got.body));
    all.push(...got.body.events);
    assert.equal(got.body.next, got.body.events.at(-1)?.id ?? after);
    after = got.body.next;
    if (!got.body.hasMore) return all;
  }
  throw new Error("too many pages");
}

const summary = (events: Ev[]) => events.map((e) => `${e.kind} ${e.path}`);

Deno.test("upload, overwrite, move, copy, delete and folder delete are each recorded once, in order", async () => {
  const user = await createUser();
  const storage = (await client(user.token)).storage.from(LMS);
  const home = `user_data/${user.id}/`;

  await upload(user, LMS, "c/a.txt", "hello", "text/plain");
  // Overwrite: an upsert reservation, then the signed upload.
  const over = await api("POST", "/uploads", user.token, {
    bucket: LMS,
    path: "c/a.txt",
    size: 11,
    contentType: "text/plain",
    upsert: true,
  });
  assert.equal(over.status, 201, JSON.stringify(over.body));
  const put = await storage.uploadToSignedUrl(
    over.body.key,
    over.body.token,
    new Blob(["hello again"], { type: "text/plain" }),
    { contentType: "text/plain", upsert: true },
  );
  assert.equal(put.error, null);
  assert.equal((await storage.move(`${home}c/a.txt`, `${home}c/b.txt`)).error, null);
  // A copy needs a reservation of the destination, like an upload.
  const copyRes = await api("POST", "/uploads", user.token, {
    bucket: LMS,
    path: "d/copy.txt",
    size: 11,
    contentType: "text/plain",
  });
  assert.equal(copyRes.status, 201, JSON.stringify(copyRes.body));
  assert.equal((await storage.copy(`${home}c/b.txt`, `${home}d/copy.txt`)).error, null);
  const removed = await api("DELETE", "/objects", user.token, { bucket: LMS, paths: ["c/b.txt"] });
  assert.deepEqual(removed.body.deleted, ["c/b.txt"]);
  await upload(user, LMS, "d/e/f.txt", "x", "text/plain");
  const folder = await api("DELETE", "/folders", user.token, { bucket: LMS, prefix: "d/" });
  assert.equal(folder.body.done, true);

  const events = await readAll(user.id);
  assert.deepEqual(summary(events), [
    "created c/a.txt",
    "overwritten c/a.txt",
    "moved c/b.txt",
    "created d/copy.txt",
    "deleted c/b.txt",
    "created d/e/f.txt",
    "deleted d/copy.txt",
    "deleted d/e/f.txt",
  ]);
  assert.equal(new Set(events.map((e) => e.id)).size, events.length);
  for (const e of events) {
    assert.equal(e.userId, user.id);
    assert.equal(e.bucket, LMS);
    assert.equal(e.key, home + e.path);
    assert.equal(e.contentType, "text/plain");
  }
  assert.deepEqual(events.map((e) => e.size), [5, 11, 11, 11, 11, 1, 11, 1]);
  assert.equal(events[2].fromPath, "c/a.txt");
  assert.equal(events[2].fromBucket, LMS);
  assert.equal(events[0].operation, "storage.object.upload_signed");
  assert.equal(events[3].operation, "storage.object.copy");
  // The signing permission tests (rolled back) and the rolled-back move dry run left nothing.
  const sql = await adminSql();
  try {
    const [{ n }] = await sql<{ n: number }[]>`
      select count(*)::int as n from stowage.events where user_id = ${user.id}`;
    assert.equal(n, events.length);
  } finally {
    await sql.end();
  }
});

Deno.test("events are readable only by their user and by the backend", async () => {
  // The backend's walk starts at the newest event before this test: on a stack that has run
  // many tests (a developer's `npm start`), everything since the stack began is too much.
  const sql = await adminSql();
  let start: number;
  try {
    [{ start }] = await sql<{ start: number }[]>`
      select coalesce(max(id), 0)::bigint::float8 as start from stowage.events`;
  } finally {
    await sql.end();
  }
  const alice = await createUser();
  const bob = await createUser();
  await upload(alice, LMS, "mine.txt", "a", "text/plain");
  await upload(bob, LMS, "bobs.txt", "b", "text/plain");

  const own = await api("GET", "/events?limit=1000", alice.token);
  assert.equal(own.status, 200, JSON.stringify(own.body));
  assert.ok(own.body.events.length >= 1);
  assert.ok(own.body.events.every((e: Ev) => e.userId === alice.id));
  assert.ok(own.body.events.some((e: Ev) => e.path === "mine.txt"));
  expectError(await api("GET", `/events?userId=${alice.id}`, bob.token), 403, "forbidden");
  expectError(await api("GET", "/events", (await stack()).publishableKey), 401, "unauthorized");
  expectError(await api("GET", "/events", null), 401, "unauthorized");

  // A cursor naming someone else's event is not followed for a user.
  const aliceEvent = own.body.events[0].id;
  expectError(await api("GET", `/events?after=${aliceEvent}`, bob.token), 404, "not_found");

  // The backend sees both users' events (no userId: everyone's).
  const key = await service();
  const seen = new Set<string>();
  let after = start;
  for (let i = 0; i < 100 && seen.size < 2; i++) {
    const page = await api("GET", `/events?after=${after}&limit=1000`, key);
    assert.equal(page.status, 200, JSON.stringify(page.body));
    for (const e of page.body.events as Ev[]) {
      if ([alice.id, bob.id].includes(e.userId)) seen.add(e.userId);
    }
    if (!page.body.hasMore) break;
    after = page.body.next;
  }
  assert.deepEqual([...seen].sort(), [alice.id, bob.id].sort());
});

Deno.test("bad cursors and limits get coded errors; a pruned cursor is answered 404", async () => {
  const user = await createUser();
  const key = await service();
  for (const q of ["after=-1", "after=x", "limit=0", "limit=1001", "userId=nope"]) {
    expectError(await api("GET", `/events?${q}`, key), 400, "invalid_request");
  }
  expectError(await api("GET", "/events?after=999999999999", key), 404, "not_found");

  // An event older than the retention is pruned by POST /admin/purge.
  const sql = await adminSql();
  let old: number;
  try {
    [{ id: old }] = await sql<{ id: number }[]>`
      insert into stowage.events (user_id, bucket_id, path, name, kind, created_at)
      values (${user.id}, ${LMS}, 'old.txt', ${`user_data/${user.id}/old.txt`}, 'created',
              now() - interval '30 days')
      returning id::int`;
  } finally {
    await sql.end();
  }
  assert.deepEqual(summary(await readAll(user.id)), ["created old.txt"]);
  const purge = await api("POST", "/admin/purge", key, {});
  assert.equal(purge.status, 200, JSON.stringify(purge.body));
  assert.ok(purge.body.prunedEvents >= 1);
  expectError(await api("GET", `/events?after=${old}&userId=${user.id}`, key), 404, "not_found");
  assert.deepEqual(await readAll(user.id), []);
});

/** A transaction held open on its own connection: writes an object row as service_role. */
async function openWriter() {
  const sql = await adminSql();
  const reserved = await sql.reserve();
  await reserved`begin`;
  await reserved`select set_config('role', 'service_role', true),
    set_config('request.jwt.claims', '{"role":"service_role"}', true)`;
  return {
    /** Gives the transaction its xid now (before any event is written). */
    takeXid: async () => await reserved`select pg_current_xact_id()`,
    insert: async (key: string) =>
      await reserved`insert into storage.objects (bucket_id, name, metadata)
        values (${LMS}, ${key}, '{"size": 1, "mimetype": "text/plain"}')`,
    commit: async () => {
      await reserved`commit`;
      reserved.release();
      await sql.end();
    },
    rollback: async () => {
      await reserved`rollback`;
      reserved.release();
      await sql.end();
    },
  };
}

/** New events after `after` for these users, as a backend reads them (everyone's, filtered). */
async function newEvents(users: TestUser[], after: number): Promise<Ev[]> {
  const ids = users.map((u) => u.id);
  const key = await service();
  const found: Ev[] = [];
  for (let page = 0; page < 1000; page++) {
    const got = await api("GET", `/events?after=${after}&limit=1000`, key);
    assert.equal(got.status, 200, JSON.stringify(got.body));
    found.push(...(got.body.events as Ev[]).filter((e) => ids.includes(e.userId)));
    after = got.body.next;
    if (!got.body.hasMore) return found;
  }
  throw new Error("too many pages");
}

/** The cursor after everything a backend can read now. */
async function tail(): Promise<number> {
  let after = 0;
  const key = await service();
  for (;;) {
    const got = await api("GET", `/events?after=${after}&limit=1000`, key);
    assert.equal(got.status, 200, JSON.stringify(got.body));
    after = got.body.next;
    if (!got.body.hasMore) return after;
  }
}

Deno.test("after paging: an event committed after a larger id is never skipped", async () => {
  // The held transactions write into bob's home (their usage lock would block alice's uploads).
  const alice = await createUser();
  const bob = await createUser();
  const bobHome = `user_data/${bob.id}/`;
  const start = await tail();

  // Case 1: the held transaction draws the smaller id, a later upload commits first.
  const held = await openWriter();
  try {
    await held.insert(`${bobHome}slow.txt`);
    await upload(alice, LMS, "fast.txt", "2", "text/plain");
    // A reader must not serve fast.txt yet: resuming after it would skip slow.txt.
    assert.deepEqual(summary(await newEvents([alice, bob], start)), []);
    await held.commit();
  } catch (error) {
    await held.rollback();
    throw error;
  }
  const round1 = await newEvents([alice, bob], start);
  assert.deepEqual(summary(round1), ["created slow.txt", "created fast.txt"]);
  assert.ok(round1[0].id < round1[1].id);

  // Case 2: the held transaction started first but draws the larger id.
  const cursor = round1[1].id;
  const late = await openWriter();
  try {
    await late.takeXid();
    await upload(alice, LMS, "quick.txt", "3", "text/plain");
    await late.insert(`${bobHome}late.txt`);
    assert.deepEqual(summary(await newEvents([alice, bob], cursor)), []);
    await late.commit();
  } catch (error) {
    await late.rollback();
    throw error;
  }
  const round2 = await newEvents([alice, bob], cursor);
  // Served in commit-safe order (the older transaction first), each once.
  assert.deepEqual(summary(round2), ["created late.txt", "created quick.txt"]);
  assert.ok(round2[0].id > round2[1].id);
  assert.deepEqual(await newEvents([alice, bob], round2[1].id), []);
});

Deno.test("after paging stays exact while 40 writers commit concurrently", async () => {
  const user = await createUser({ plan: "paid" });
  const key = await service();
  const seen: Ev[] = [];
  let cursor = 0;
  let writing = true;
  const reader = (async () => {
    while (writing || seen.length < 80) {
      const got = await api("GET", `/events?after=${cursor}&limit=7&userId=${user.id}`, key);
      assert.equal(got.status, 200, JSON.stringify(got.body));
      const page = got.body.events as Ev[];
      seen.push(...page);
      cursor = got.body.next;
      if (!writing && page.length === 0) break;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    await Promise.all(Array.from({ length: 40 }, async (_, i) => {
      await upload(user, LMS, `w/${i}.txt`, "x".repeat(i + 1), "text/plain");
      const del = await api("DELETE", "/objects", user.token, {
        bucket: LMS,
        paths: [`w/${i}.txt`],
      });
      assert.deepEqual(del.body.deleted, [`w/${i}.txt`]);
    }));
  } finally {
    writing = false;
    await reader;
  }
  const all = await readAll(user.id, 0, 1000);
  assert.equal(all.length, 80);
  assert.deepEqual(seen.map((e) => e.id), all.map((e) => e.id), "the live reader saw each once");
  for (let i = 0; i < 40; i++) {
    const mine = seen.filter((e) => e.path === `w/${i}.txt`).map((e) => e.kind);
    assert.deepEqual(mine, ["created", "deleted"]);
  }
});
