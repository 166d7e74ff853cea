/**
 * Needs a running stack's database (STOWAGE_CREDENTIALS, else .stack/credentials.json);
 * skipped when there is none.
 */
import assert from "node:assert/strict";
import { createDb } from "./db.ts";
import type { UserClaims } from "./auth.ts";

const credentialsPath = Deno.env.get("STOWAGE_CREDENTIALS") ??
  new URL("../../../.stack/credentials.json", import.meta.url).pathname;
let dbUrl: string | null = null;
try {
  dbUrl = JSON.parse(await Deno.readTextFile(credentialsPath)).dbUrl;
} catch {
  dbUrl = null;
}
const claims: UserClaims = {
  sub: "a11ce000-0000-4000-8000-000000000001",
  role: "authenticated",
  exp: 9999999999,
  email: "alice@example.com",
};

Deno.test({
  name: "withUser runs as authenticated with the caller's claims, only inside the transaction",
  ignore: dbUrl === null,
  async fn() {
    const db = createDb({ url: dbUrl!, max: 1 });
    try {
      const [row] = await db.withUser(claims, (tx) =>
        tx`select current_user as role,
          current_setting('request.jwt.claim.sub', true) as sub,
          current_setting('request.jwt.claim.role', true) as claim_role,
          current_setting('request.jwt.claims', true)::jsonb as claims`);
      assert.equal(row.role, "authenticated");
      assert.equal(row.sub, claims.sub);
      assert.equal(row.claim_role, "authenticated");
      assert.equal(row.claims.email, "alice@example.com");
      // Same single connection afterwards: nothing leaked.
      const [after] = await db.withService((tx) =>
        tx`select current_user as role, current_setting('request.jwt.claim.sub', true) as sub,
          current_setting('request.jwt.claims', true)::jsonb as claims`
      );
      assert.equal(after.role, "service_role");
      assert.equal(after.sub, "");
      assert.deepEqual(after.claims, { role: "service_role" });
    } finally {
      await db.end();
    }
  },
});

Deno.test({
  name: "withUser clamps the role to authenticated whatever the claims say",
  ignore: dbUrl === null,
  async fn() {
    const db = createDb({ url: dbUrl!, max: 1 });
    try {
      const forged = { ...claims, role: "service_role" } as unknown as UserClaims;
      const [row] = await db.withUser(
        forged,
        (tx) =>
          tx`select current_user as role, current_setting('request.jwt.claims', true)::jsonb as c`,
      );
      assert.equal(row.role, "authenticated");
      assert.equal(row.c.role, "authenticated");
    } finally {
      await db.end();
    }
  },
});

Deno.test({
  name: "an unreachable database fails with a driver error code (mapped to 503)",
  ignore: dbUrl === null,
  async fn() {
    const db = createDb({ url: "postgresql://postgres:postgres@127.0.0.1:9/postgres", max: 1 });
    try {
      await assert.rejects(
        db.ping(),
        (e: unknown) => typeof (e as { code?: string }).code === "string",
      );
    } finally {
      await db.end();
    }
  },
});

Deno.test("a database that stays down fails every request fast: reconnect backoff stays short", async () => {
  // postgres.js backs off 3^n / 100 s (up to 20 s) between failed connects by default: after a
  // short outage every request would wait seconds before its 503, and keep waiting after the
  // database is back. Ours is capped at one second.
  const db = createDb({ url: "postgresql://postgres:postgres@127.0.0.1:9/postgres", max: 1 });
  try {
    for (let attempt = 1; attempt <= 10; attempt++) {
      const started = Date.now();
      await assert.rejects(db.ping());
      const took = Date.now() - started;
      assert.ok(took < 2000, `attempt ${attempt} took ${took} ms`);
    }
  } finally {
    await db.end();
  }
});

Deno.test({
  name: "a transaction aborted as a deadlock victim (40P01) is run again and both parties succeed",
  ignore: dbUrl === null,
  async fn() {
    const db = createDb({ url: dbUrl!, max: 2 });
    const [a, b] = [Date.now() * 1000 + 1, Date.now() * 1000 + 2];
    let resolveFirst!: () => void;
    let resolveSecond!: () => void;
    const firstHolds = new Promise<void>((r) => (resolveFirst = r));
    const secondHolds = new Promise<void>((r) => (resolveSecond = r));
    const attempts = [0, 0];
    // Each takes one lock, waits until the other holds its own, then asks for the other's:
    // a deadlock, which Postgres breaks by aborting one of them.
    const party = (
      i: number,
      mine: number,
      theirs: number,
      held: () => void,
      other: Promise<void>,
    ) =>
      db.withService(async (tx) => {
        attempts[i]++;
        await tx`select pg_advisory_xact_lock(${mine})`;
        held();
        await other;
        await tx`select pg_advisory_xact_lock(${theirs})`;
        return i;
      });
    try {
      const results = await Promise.all([
        party(0, a, b, resolveFirst, secondHolds),
        party(1, b, a, resolveSecond, firstHolds),
      ]);
      assert.deepEqual(results, [0, 1]);
      assert.equal(attempts[0] + attempts[1], 3, `attempts ${attempts}`); // one victim, run twice
    } finally {
      await db.end();
    }
  },
});

Deno.test({
  name: "serialization failures (40001) are retried a few times; other errors never",
  ignore: dbUrl === null,
  async fn() {
    const db = createDb({ url: dbUrl!, max: 1, conflictRetries: 2 });
    const raise = (state: string) =>
      `do $$ begin raise exception 'conflict' using errcode = '${state}'; end $$`;
    try {
      let runs = 0;
      const value = await db.withUser(claims, async (tx) => {
        runs++;
        if (runs === 1) await tx.unsafe(raise("40001"));
        return "done";
      });
      assert.deepEqual([value, runs], ["done", 2]);

      runs = 0;
      await assert.rejects(
        db.withService(async (tx) => {
          runs++;
          await tx.unsafe(raise("40P01"));
        }),
        (e: { code?: string }) => e.code === "40P01",
      );
      assert.equal(runs, 3, "the first run and two retries, then the error");

      runs = 0;
      await assert.rejects(
        db.withService(async (tx) => {
          runs++;
          await tx.unsafe(raise("23505"));
        }),
        (e: { code?: string }) => e.code === "23505",
      );
      assert.equal(runs, 1, "a refusal is not retried");
    } finally {
      await db.end();
    }
  },
});

Deno.test({
  name: "a transaction of one statement commits before it answers; one that fails rolls back",
  ignore: dbUrl === null,
  async fn() {
    // One connection: BEGIN, the claims, the statement and COMMIT are sent together on it.
    const db = createDb({ url: dbUrl!, max: 1 });
    const other = createDb({ url: dbUrl!, max: 1 });
    const key = Date.now() * 1000 + 7;
    try {
      const [row] = await db.withUser(
        claims,
        (tx) =>
          tx`select pg_advisory_xact_lock(${key}), current_setting('request.jwt.claim.sub') as sub`,
      );
      assert.equal(row.sub, claims.sub);
      // Committed by the time it answered: the transaction's lock is free for anyone.
      const [free] = await other.withService((tx) =>
        tx`select pg_try_advisory_xact_lock(${key}) as ok`
      );
      assert.equal(free.ok, true);

      await assert.rejects(
        db.withService((tx) => tx`select pg_advisory_xact_lock(${key}), 1 / 0 as boom`),
        (e: { code?: string }) => e.code === "22012",
      );
      const [after] = await other.withService((tx) =>
        tx`select pg_try_advisory_xact_lock(${key}) as ok`
      );
      assert.equal(after.ok, true, "the failed transaction's lock was released");
      // The one connection is usable and outside any transaction.
      const [clean] = await db.withService((tx) =>
        tx`select current_user as role, now() = statement_timestamp() as fresh`
      );
      assert.equal(clean.role, "service_role");
      assert.equal(clean.fresh, false, "ran inside its own BEGIN, not a leftover one");
    } finally {
      await Promise.all([db.end(), other.end()]);
    }
  },
});

Deno.test({
  name: "a transaction whose function throws between statements rolls back what it wrote",
  ignore: dbUrl === null,
  async fn() {
    const db = createDb({ url: dbUrl!, max: 1 });
    try {
      await db.withService((tx) => tx`create temp table if not exists db_test_rows (x int)`);
      await assert.rejects(
        db.withService(async (tx) => {
          await tx`insert into db_test_rows values (1)`;
          throw new Error("boom");
        }),
        /boom/,
      );
      const [row] = await db.withService((tx) => tx`select count(*)::int as n from db_test_rows`);
      assert.equal(row.n, 0);
    } finally {
      await db.end();
    }
  },
});
