/**
 * @module Quota enforcement end to end: reservations made in SQL as the user (what the storage
 * function does), bytes through the local Storage-API server, so the real two-step write path
 * (permission test as the caller, then the service-role upsert) meets the triggers.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import postgres from "postgres";
import type { SupabaseClient } from "@supabase/supabase-js";
import {
  adminSql,
  client,
  createUser,
  serviceClient,
  stack,
  type TestUser,
} from "../support/stack.ts";

/** One reserved file as `stowage.reserve` returns it. */
interface Reserved {
  path: string;
  name: string;
  size: string;
  content_type: string;
}

const BUCKET = `quota-test-${crypto.randomUUID().slice(0, 8)}`;
let bucketReady: Promise<void> | undefined;

/** Creates this file's own managed bucket (home `{uid}/`) once. */
function ensureBucket(): Promise<void> {
  bucketReady ??= (async () => {
    const sql = await adminSql();
    try {
      await sql`insert into storage.buckets (id, name) values (${BUCKET}, ${BUCKET})`;
      await sql`insert into stowage.bucket_homes (bucket_id, home_template) values (${BUCKET}, '{uid}/')`;
    } finally {
      await sql.end();
    }
  })();
  return bucketReady;
}

/** A fresh user on a plan of its own with `quotaBytes`, or on free. */
async function userWithQuota(quotaBytes?: number): Promise<TestUser> {
  await ensureBucket();
  const user = await createUser();
  if (quotaBytes !== undefined) {
    const sql = await adminSql();
    try {
      const plan = `qt-${user.id.slice(0, 8)}`;
      await sql`insert into stowage.plans (id, quota_bytes) values (${plan}, ${quotaBytes})`;
      await sql`select stowage.set_plan(${user.id}::uuid, ${plan})`;
    } finally {
      await sql.end();
    }
  }
  return user;
}

/** Runs `fn` in one transaction as `authenticated` with the user's claims (as `withUser` does). */
function asUser<T>(
  sql: postgres.Sql,
  userId: string,
  fn: (tx: postgres.TransactionSql) => Promise<T>,
): Promise<T> {
  return sql.begin(async (tx) => {
    await tx.unsafe("set local role authenticated");
    const claims = JSON.stringify({ sub: userId, role: "authenticated" });
    await tx`select set_config('request.jwt.claims', ${claims}, true),
                    set_config('request.jwt.claim.sub', ${userId}, true)`;
    return await fn(tx);
  }) as Promise<T>;
}

/** Reserves one file for `user` in the test bucket. */
async function reserve(
  user: TestUser,
  path: string,
  size: number,
  upsert = false,
): Promise<Reserved> {
  const sql = await adminSql();
  try {
    const files = [{ path, size, contentType: "text/plain" }];
    const rows = await asUser(
      sql,
      user.id,
      (tx) =>
        tx<Reserved[]>`select * from stowage.reserve(${BUCKET}, ${tx.json(files)}, ${upsert})`,
    );
    return rows[0];
  } finally {
    await sql.end();
  }
}

/** Signs an upload URL as `signer` and PUTs `size` bytes to it; returns the error message or "ok". */
async function signedUpload(
  signer: SupabaseClient,
  key: string,
  size: number,
  upsert = false,
): Promise<{ result: string; token?: string }> {
  const signed = await signer.storage.from(BUCKET).createSignedUploadUrl(key, { upsert });
  if (signed.error) return { result: signed.error.message };
  const result = await putSigned(key, signed.data.token, size);
  return { result, token: signed.data.token };
}

/** PUTs `size` bytes to a signed upload token; returns the error message or "ok". */
async function putSigned(key: string, token: string, size: number): Promise<string> {
  const anon = await client();
  const { error } = await anon.storage.from(BUCKET).uploadToSignedUrl(key, token, bytes(size), {
    contentType: "text/plain",
  });
  return error ? error.message : "ok";
}

function bytes(size: number): Uint8Array {
  return new Uint8Array(size).fill(97);
}

/** The user's counters and the truth: sums of object sizes in their homes. */
async function countersAndTruth(userId: string) {
  const sql = await adminSql();
  try {
    const [counters] = await sql`select coalesce(sum(bytes), 0)::bigint as bytes,
      coalesce(sum(objects), 0)::bigint as objects from stowage.usage where user_id = ${userId}`;
    const [truth] = await sql`select coalesce(sum((metadata->>'size')::bigint), 0)::bigint as bytes,
      count(*)::bigint as objects from storage.objects
      where stowage.home_owner(bucket_id, name) = ${userId}::uuid`;
    return {
      counters: `${counters.bytes}/${counters.objects}`,
      truth: `${truth.bytes}/${truth.objects}`,
    };
  } finally {
    await sql.end();
  }
}

async function objectRow(key: string): Promise<{ size: string } | undefined> {
  const sql = await adminSql();
  try {
    const rows = await sql<{ size: string }[]>`select metadata->>'size' as size
      from storage.objects where bucket_id = ${BUCKET} and name = ${key}`;
    return rows[0];
  } finally {
    await sql.end();
  }
}

/** Version files the local Storage-API double holds for a key (0 when it keeps none). */
async function filesOnDisk(key: string): Promise<number> {
  const dir = join((await stack()).stackDir, "storage", BUCKET, ...key.split("/"));
  let count = 0;
  try {
    for await (const entry of Deno.readDir(dir)) if (entry.isFile) count++;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return count;
}

Deno.test("50 concurrent reservations against room for exactly 7 yield exactly 7", async () => {
  const user = await userWithQuota(7 * 1000 + 999);
  const pool = postgres((await stack()).dbUrl, { max: 25, onnotice: () => {} });
  try {
    const outcomes = await Promise.allSettled(
      Array.from(
        { length: 50 },
        (_, i) =>
          asUser(
            pool,
            user.id,
            (tx) =>
              tx`select * from stowage.reserve(${BUCKET}, ${
                tx.json([{ path: `race/${i}.txt`, size: 1000, contentType: "text/plain" }])
              })`,
          ),
      ),
    );
    const passed = outcomes.filter((o) => o.status === "fulfilled").length;
    const refusals = outcomes.flatMap((o) => o.status === "rejected" ? [o.reason] : []);
    assert.equal(passed, 7);
    assert.ok(
      refusals.every((e) => e.code === "SW507" && e.message.startsWith("quota_exceeded: ")),
    );
    const [held] = await pool`select count(*)::int as n, sum(size)::bigint as bytes
      from stowage.reservations where user_id = ${user.id}`;
    assert.deepEqual([held.n, Number(held.bytes)], [7, 7000]);
  } finally {
    await pool.end();
  }
});

Deno.test("an exact-fit upload is accepted", async () => {
  const user = await userWithQuota(100);
  const r = await reserve(user, "fit.txt", 100);
  const { result } = await signedUpload(await client(user.token), r.name, 100);
  assert.equal(result, "ok");
  assert.equal((await countersAndTruth(user.id)).counters, "100/1");
});

Deno.test("a signed upload larger than declared is refused, leaves nothing, and the token still works", async () => {
  const user = await userWithQuota();
  const r = await reserve(user, "big/a.txt", 10);
  const first = await signedUpload(await client(user.token), r.name, 11);
  assert.match(first.result, /^upload_too_large: 11 bytes > declared 10/);
  assert.equal(await objectRow(r.name), undefined);
  assert.equal(await filesOnDisk(r.name), 0);
  assert.equal((await countersAndTruth(user.id)).counters, "0/0");

  assert.equal(await putSigned(r.name, first.token!, 10), "ok");
  assert.equal((await objectRow(r.name))?.size, "10");
  assert.equal(await filesOnDisk(r.name), 1);
  assert.equal((await countersAndTruth(user.id)).counters, "10/1");
});

Deno.test("a replayed upload token is refused", async () => {
  const user = await userWithQuota();
  const userClient = await client(user.token);
  const plain = await reserve(user, "replay/plain.txt", 5);
  const once = await signedUpload(userClient, plain.name, 5);
  assert.equal(once.result, "ok");
  assert.equal(await putSigned(plain.name, once.token!, 5), "The resource already exists");

  const up = await reserve(user, "replay/upsert.txt", 5, true);
  const upOnce = await signedUpload(userClient, up.name, 5, true);
  assert.equal(upOnce.result, "ok");
  assert.match(await putSigned(up.name, upOnce.token!, 5), /^no_reservation: /);
  assert.equal((await countersAndTruth(user.id)).counters, "10/2");
});

Deno.test("a user's direct upload without a reservation is refused", async () => {
  const user = await userWithQuota();
  const { error } = await (await client(user.token)).storage.from(BUCKET)
    .upload(`${user.id}/direct.txt`, bytes(3), { contentType: "text/plain" });
  assert.equal(error?.message, "new row violates row-level security policy");
  const signed = await (await client(user.token)).storage.from(BUCKET)
    .createSignedUploadUrl(`${user.id}/direct.txt`);
  assert.equal(signed.error?.message, "new row violates row-level security policy");
  assert.equal((await countersAndTruth(user.id)).counters, "0/0");
});

Deno.test("overwrites (bigger, smaller), moves and service-role overwrites keep the counters right", async () => {
  const user = await userWithQuota();
  const userClient = await client(user.token);
  const key = `${user.id}/doc.txt`;
  await reserve(user, "doc.txt", 50);
  assert.equal((await signedUpload(userClient, key, 50)).result, "ok");

  await reserve(user, "doc.txt", 80, true);
  assert.equal((await signedUpload(userClient, key, 80, true)).result, "ok");
  assert.equal((await countersAndTruth(user.id)).counters, "80/1");

  await reserve(user, "doc.txt", 20, true);
  assert.equal((await signedUpload(userClient, key, 20, true)).result, "ok");
  assert.equal((await countersAndTruth(user.id)).counters, "20/1");

  const moved = await userClient.storage.from(BUCKET).move("" + key, `${user.id}/archive/doc.txt`);
  assert.equal(moved.error, null);
  assert.equal((await countersAndTruth(user.id)).counters, "20/1");
  assert.equal((await objectRow(`${user.id}/archive/doc.txt`))?.size, "20");

  const service = await serviceClient();
  const over = await service.storage.from(BUCKET).upload(`${user.id}/archive/doc.txt`, bytes(33), {
    upsert: true,
    contentType: "text/plain",
  });
  assert.equal(over.error, null);
  assert.equal((await countersAndTruth(user.id)).counters, "33/1");
  const fresh = await service.storage.from(BUCKET).upload(`${user.id}/by-admin.txt`, bytes(7), {
    contentType: "text/plain",
  });
  assert.equal(fresh.error, null);
  const { counters, truth } = await countersAndTruth(user.id);
  assert.equal(counters, "40/2");
  assert.equal(counters, truth);
});

Deno.test("a URL signed with the service key for a user is held to the user's reservation", async () => {
  const user = await userWithQuota();
  const service = await serviceClient();
  const key = `${user.id}/from-backend.txt`;
  assert.match((await signedUpload(service, key, 5)).result, /^no_reservation: /);

  await reserve(user, "from-backend.txt", 5);
  assert.match(
    (await signedUpload(service, key, 6)).result,
    /^upload_too_large: 6 bytes > declared 5/,
  );
  assert.equal((await signedUpload(service, key, 5)).result, "ok");
  assert.equal((await countersAndTruth(user.id)).counters, "5/1");
});

/** A small deterministic PRNG (mulberry32), so a failing mix can be replayed from its seed. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
}

/** One user's stream of random operations; returns the keys it believes exist. */
async function randomOps(user: TestUser, rand: (n: number) => number, steps: number) {
  const userClient = await client(user.token);
  const service = await serviceClient();
  const files = new Set<string>();
  const pick = () => [...files][rand(files.size)];
  for (let i = 0; i < steps; i++) {
    const op = files.size === 0 ? 0 : rand(7);
    const size = 1 + rand(300);
    if (op === 0 || op === 1) { // reserve + signed upload, sometimes more than declared
      const path = `mix/${i}.txt`;
      await reserve(user, path, size);
      const sent = rand(5) === 0 ? size + 1 + rand(10) : 1 + rand(size);
      const { result } = await signedUpload(userClient, `${user.id}/${path}`, sent);
      if (sent > size) assert.match(result, /^upload_too_large: /);
      else {
        assert.equal(result, "ok");
        files.add(path);
      }
    } else if (op === 2) { // overwrite
      const path = pick();
      await reserve(user, path, size, true);
      assert.equal((await signedUpload(userClient, `${user.id}/${path}`, size, true)).result, "ok");
    } else if (op === 3) { // move within the home
      const from = pick();
      const to = `mix/moved-${i}.txt`;
      const { error } = await userClient.storage.from(BUCKET).move(
        `${user.id}/${from}`,
        `${user.id}/${to}`,
      );
      assert.equal(error, null);
      files.delete(from);
      files.add(to);
    } else if (op === 4) { // delete
      const path = pick();
      const { data, error } = await userClient.storage.from(BUCKET).remove([`${user.id}/${path}`]);
      assert.equal(error, null);
      assert.equal(data?.length, 1);
      files.delete(path);
    } else if (op === 5) { // the service role writes directly (e.g. the migration CLI)
      const path = rand(2) === 0 ? pick() : `mix/svc-${i}.txt`;
      const { error } = await service.storage.from(BUCKET).upload(
        `${user.id}/${path}`,
        bytes(size),
        {
          upsert: true,
          contentType: "text/plain",
        },
      );
      assert.equal(error, null);
      files.add(path);
    } else { // copy: needs a reservation of the source size at the destination
      const from = pick();
      const to = `mix/copy-${i}.txt`;
      const source = await objectRow(`${user.id}/${from}`);
      await reserve(user, to, Number(source!.size));
      const { error } = await userClient.storage.from(BUCKET).copy(
        `${user.id}/${from}`,
        `${user.id}/${to}`,
      );
      assert.equal(error, null);
      files.add(to);
    }
  }
  return files;
}

Deno.test("counters equal the sums of object sizes per home after a random mix", async () => {
  const seed = Number(Deno.env.get("STOWAGE_MIX_SEED") ?? Date.now() % 1_000_000);
  const users = await Promise.all([userWithQuota(), userWithQuota(), userWithQuota()]);
  try {
    // The users' streams run concurrently; each is deterministic from the seed.
    const kept = await Promise.all(users.map((u, i) => randomOps(u, prng(seed + i), 25)));
    // Then the service role moves objects between homes: bytes follow the object.
    const service = await serviceClient();
    const rand = prng(seed + 99);
    for (let i = 0; i < 4; i++) {
      const from = rand(users.length);
      const to = (from + 1) % users.length;
      const path = [...kept[from]][rand(kept[from].size)];
      if (!path) continue;
      const { error } = await service.storage.from(BUCKET)
        .move(`${users[from].id}/${path}`, `${users[to].id}/from-${i}.txt`);
      assert.equal(error, null);
      kept[from].delete(path);
      kept[to].add(`from-${i}.txt`);
    }
    const sql = await adminSql();
    try {
      for (const user of users) {
        const { counters, truth } = await countersAndTruth(user.id);
        assert.equal(counters, truth, `counters of ${user.id} (seed ${seed})`);
        assert.equal(truth.split("/")[1], String(kept[users.indexOf(user)].size));
        await sql.begin(async (tx) => {
          await tx.unsafe("set local role service_role");
          const [drift] = await tx`select * from stowage.reconcile(${user.id}::uuid)`;
          assert.equal(
            drift.bytes_before,
            drift.bytes_after,
            `reconcile finds no drift (seed ${seed})`,
          );
        });
      }
    } finally {
      await sql.end();
    }
  } catch (error) {
    throw new Error(`random mix failed with STOWAGE_MIX_SEED=${seed}`, { cause: error });
  }
});
