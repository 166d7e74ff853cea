/**
 * @module One lock order for every writer, the Storage server's own statements included
 * (STORAGE_API_FACTS §1.1, §1.8, §1.9; the double's `completeWrite` and `moveObject` are the
 * reference): an upload's final write takes the advisory lock on the key, then the object row
 * (`SELECT ... FOR UPDATE`), then runs the upsert whose triggers take the user's usage row. It
 * races, on the same key and in both orders, a user's delete, a folder delete (one bulk delete of
 * several keys), a move's final write, a reservation, and another upload's permission test. No
 * interleaving may deadlock (40P01), and the counters stay exact (reconcile finds no drift).
 *
 * Each interleaving is forced: the first transaction takes its locks and stops; the second is
 * started and observed waiting on a lock (pg_stat_activity); then the first goes on.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { adminSql, createUser, stack, type TestUser } from "../support/stack.ts";

const BUCKET = "audiofiles";
type Conn = postgres.ReservedSql;
type Step = (c: Conn) => Promise<unknown>;

/** A transaction on its own connection, run step by step. */
class Session {
  private constructor(readonly conn: Conn, readonly pid: number) {}

  static async open(pool: postgres.Sql): Promise<Session> {
    const conn = await pool.reserve();
    const [{ pid }] = await conn`select pg_backend_pid() as pid`;
    await conn`begin`;
    return new Session(conn, pid);
  }

  /** Sets the request scope the Storage server sets (FACTS §4.1). */
  async scope(role: string, sub: string, operation: string): Promise<void> {
    const claims = JSON.stringify(sub ? { sub, role } : { role });
    await this.conn`select set_config('role', ${role}, true),
      set_config('request.jwt.claim.role', ${role}, true),
      set_config('request.jwt.claim.sub', ${sub}, true),
      set_config('request.jwt.claims', ${claims}, true),
      set_config('storage.operation', ${operation}, true),
      set_config('storage.allow_delete_query', 'true', true)`;
  }

  async end(commit: boolean): Promise<void> {
    try {
      await (commit ? this.conn`commit` : this.conn`rollback`);
    } finally {
      this.conn.release();
    }
  }
}

/** Waits until the backend `pid` waits on a lock (a state, not a time). */
async function blocked(admin: postgres.Sql, pid: number, running: Promise<unknown>): Promise<void> {
  let settled = false;
  running.then(() => settled = true, () => settled = true);
  for (;;) {
    const [row] = await admin`select wait_event_type from pg_stat_activity where pid = ${pid}`;
    if (row?.wait_event_type === "Lock") return;
    if (settled) return; // it did not need to wait
    await new Promise((r) => setTimeout(r, 20));
  }
}

const meta = (size: number) => ({
  size,
  mimetype: "audio/mpeg",
  contentLength: size,
  eTag: '"x"',
  httpStatusCode: 200,
});

/** An upload's final write, as the server runs it: advisory lock, row lock, then the upsert. */
function finalWrite(user: TestUser, key: string, size: number) {
  return {
    async locks(s: Session) {
      await s.scope("service_role", "", "storage.object.upload_signed");
      await s.conn`select set_config('lock_timeout', '5000ms', true)`;
      await s.conn`select pg_advisory_xact_lock(hashtext(${`${BUCKET}/${key}`}))`;
      await s.conn`select id, version, metadata from storage.objects
                   where name = ${key} and bucket_id = ${BUCKET} for update`;
      await s.conn`select set_config('lock_timeout', '0', true)`;
    },
    async upsert(s: Session) {
      await s.conn`insert into storage.objects
          (name, owner, owner_id, bucket_id, metadata, user_metadata, version)
        values (${key}, ${user.id}, ${user.id}, ${BUCKET}, ${s.conn.json(meta(size))}, '{}',
          ${crypto.randomUUID()})
        on conflict (name, bucket_id) do update set metadata = excluded.metadata,
          user_metadata = excluded.user_metadata, version = excluded.version,
          owner = excluded.owner, owner_id = excluded.owner_id
        returning *`;
    },
  };
}

/** The other writers, each split into "take its locks" and nothing more (commit ends it). */
type Other = { name: string; run: (s: Session, user: TestUser, key: string) => Promise<unknown> };

const OTHERS: Other[] = [
  {
    name: "a user's delete (DELETE /object/{bucket}, one key)",
    async run(s, user, key) {
      await s.scope("authenticated", user.id, "storage.object.delete_many");
      return await s.conn`delete from storage.objects
        where bucket_id = ${BUCKET} and name = any(${[key]}::text[]) returning *`;
    },
  },
  {
    name: "a folder delete (one bulk delete of every key below race/)",
    async run(s, user) {
      await s.scope("authenticated", user.id, "storage.object.delete_many");
      const keys = ["0.mp3", "a.mp3", "z.mp3"].map((k) => `${user.id}/race/${k}`);
      return await s.conn`delete from storage.objects
        where bucket_id = ${BUCKET} and name = any(${keys}::text[]) returning *`;
    },
  },
  {
    name: "a move's final write (advisory lock on the destination, row lock, UPDATE)",
    async run(s, user, key) {
      await s.scope("service_role", "", "storage.object.move");
      const dest = `${user.id}/moved/a.mp3`;
      await s.conn`select pg_advisory_xact_lock(hashtext(${`${BUCKET}/${dest}`}))`;
      const rows = await s.conn`select id from storage.objects
        where name = ${key} and bucket_id = ${BUCKET} for update`;
      if (rows.length === 0) return;
      return await s
        .conn`update storage.objects set name = ${dest}, version = ${crypto.randomUUID()},
          owner_id = ${user.id} where id = ${rows[0].id}`;
    },
  },
  {
    name: "a reservation (stowage.reserve as the user)",
    async run(s, user) {
      await s.scope("authenticated", user.id, "");
      const files = [{ path: "race/other.mp3", size: 10, contentType: "audio/mpeg" }];
      return await s.conn`select * from stowage.reserve(${BUCKET}, ${s.conn.json(files)}, true)`;
    },
  },
  {
    name: "another upload's permission test (upsert as the user, rolled back)",
    async run(s, user, key) {
      await s.scope("authenticated", user.id, "storage.object.upload");
      return await s.conn`insert into storage.objects
          (name, owner, owner_id, bucket_id, metadata, version)
        values (${key}, ${user.id}, ${user.id}, ${BUCKET},
          ${s.conn.json({ mimetype: "audio/mpeg", contentLength: 300 })}, '1')
        on conflict (name, bucket_id) do update set metadata = excluded.metadata,
          version = excluded.version returning *`;
    },
  },
];

/** A fresh user holding race/{0,a,z}.mp3 (100 bytes each) and a reservation of race/a.mp3. */
async function setUp(admin: postgres.Sql): Promise<{ user: TestUser; key: string }> {
  const user = await createUser();
  const keys = ["0.mp3", "a.mp3", "z.mp3"].map((k) => `${user.id}/race/${k}`);
  await admin`insert into storage.objects (bucket_id, name, metadata)
    select ${BUCKET}, k, ${admin.json(meta(100))} from unnest(${keys}::text[]) k`;
  await admin.begin(async (tx) => {
    await tx`select set_config('role', 'authenticated', true),
      set_config('request.jwt.claims', ${
      JSON.stringify({ sub: user.id, role: "authenticated" })
    }, true)`;
    const files = [{ path: "race/a.mp3", size: 300, contentType: "audio/mpeg" }];
    await tx`select * from stowage.reserve(${BUCKET}, ${tx.json(files)}, true)`;
  });
  return { user, key: keys[1] };
}

/** Reconcile finds no drift for the user (the counters equal the objects). */
async function assertNoDrift(admin: postgres.Sql, user: TestUser): Promise<void> {
  const [r] = await admin`select * from stowage.reconcile(${user.id}::uuid)`;
  assert.equal(Number(r.bytes_before), Number(r.bytes_after), "bytes drift");
  assert.equal(Number(r.objects_before), Number(r.objects_after), "objects drift");
}

for (const other of OTHERS) {
  for (const writerFirst of [true, false]) {
    const order = writerFirst ? "upload's row lock first" : "the other first";
    Deno.test(`an upload's final write vs ${other.name}, ${order}: no deadlock`, async () => {
      const admin = await adminSql();
      const pool = postgres((await stack()).adminDbUrl, { max: 4, onnotice: () => {} });
      try {
        const { user, key } = await setUp(admin);
        const write = finalWrite(user, key, 300);
        const w = await Session.open(pool);
        const o = await Session.open(pool);
        const commitOther = other.name.includes("permission test") ? false : true;
        let wDone: Promise<unknown>;
        let oDone: Promise<unknown>;
        if (writerFirst) {
          await write.locks(w);
          const running = other.run(o, user, key);
          await blocked(admin, o.pid, running);
          wDone = write.upsert(w).then(() => w.end(true), async (e) => {
            await w.end(false);
            throw e;
          });
          oDone = running.then(() => o.end(commitOther), async (e) => {
            await o.end(false);
            throw e;
          });
        } else {
          await other.run(o, user, key);
          const running = write.locks(w).then(() => write.upsert(w));
          await blocked(admin, w.pid, running);
          oDone = o.end(commitOther);
          wDone = running.then(() => w.end(true), async (e) => {
            await w.end(false);
            throw e;
          });
        }
        const results = await Promise.allSettled([wDone, oDone]);
        for (const r of results) {
          assert.equal(r.status, "fulfilled", r.status === "rejected" ? String(r.reason) : "");
        }
        await assertNoDrift(admin, user);
      } finally {
        await pool.end();
        await admin.end();
      }
    });
  }
}
