/**
 * @module The quota, the bucket limits and the path rules hold against every Storage API
 * call a user's own token allows (issue 13, items 1, 2 and 5): reservations through the
 * storage function over HTTP, then upload, upsert, move, copy and signed PUTs straight to the
 * Storage API with supabase-js and the user's JWT, in the orders an attacker would pick.
 */
import assert from "node:assert/strict";
import type { SupabaseClient } from "@supabase/supabase-js";
import { adminSql, client, createUser, type TestUser } from "../support/stack.ts";
import { api } from "../support/storage.ts";

const TAG = crypto.randomUUID().slice(0, 8);
/** A managed bucket without limits (home `{uid}/`). */
const OPEN = `every-open-${TAG}`;
/** A managed bucket for audio only, at most 100 bytes per file (home `{uid}/`). */
const AUDIO = `every-audio-${TAG}`;
let ready: Promise<void> | undefined;

function ensureBuckets(): Promise<void> {
  ready ??= (async () => {
    const sql = await adminSql();
    try {
      await sql`insert into storage.buckets (id, name) values (${OPEN}, ${OPEN})`;
      await sql`insert into storage.buckets (id, name, file_size_limit, allowed_mime_types)
                values (${AUDIO}, ${AUDIO}, 100, '{audio/*}')`;
      await sql`insert into stowage.bucket_homes (bucket_id, home_template)
                values (${OPEN}, '{uid}/'), (${AUDIO}, '{uid}/')`;
    } finally {
      await sql.end();
    }
  })();
  return ready;
}

/** A fresh user on a plan of its own. */
async function userOn(quotaBytes: number, maxFileBytes: number | null = null): Promise<TestUser> {
  await ensureBuckets();
  const user = await createUser();
  const sql = await adminSql();
  try {
    const plan = `ew-${user.id.slice(0, 8)}`;
    await sql`insert into stowage.plans (id, quota_bytes, max_file_bytes)
              values (${plan}, ${quotaBytes}, ${maxFileBytes})`;
    await sql`select stowage.set_plan(${user.id}::uuid, ${plan})`;
  } finally {
    await sql.end();
  }
  return user;
}

/** Reserves through `POST /uploads` and returns the signed token; asserts 201. */
async function reserve(
  user: TestUser,
  bucket: string,
  path: string,
  size: number,
  contentType = "text/plain",
  upsert = false,
): Promise<string> {
  const r = await api("POST", "/uploads", user.token, { bucket, path, size, contentType, upsert });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.token;
}

/** PUTs `size` bytes to a signed upload token; "ok" or the Storage API's message. */
async function putSigned(
  bucket: string,
  user: TestUser,
  path: string,
  token: string,
  size: number,
  type = "text/plain",
): Promise<string> {
  const anon = await client();
  const { error } = await anon.storage.from(bucket).uploadToSignedUrl(
    `${user.id}/${path}`,
    token,
    new Blob([new Uint8Array(size).fill(97)], { type }),
    { contentType: type },
  );
  return error ? error.message : "ok";
}

/** Uploads a file the honest way (reserve, signed PUT); asserts it worked. */
async function put(
  user: TestUser,
  bucket: string,
  path: string,
  size: number,
  type = "text/plain",
) {
  const token = await reserve(user, bucket, path, size, type);
  assert.equal(await putSigned(bucket, user, path, token, size, type), "ok");
}

/** Bytes stored in the user's homes (the truth) and the counter. */
async function stored(user: TestUser): Promise<{ truth: number; counter: number }> {
  const sql = await adminSql();
  try {
    const [t] = await sql`select coalesce(sum((metadata->>'size')::bigint), 0)::bigint as b
      from storage.objects where stowage.home_owner(bucket_id, name) = ${user.id}::uuid`;
    const [c] = await sql`select coalesce(sum(bytes), 0)::bigint as b from stowage.usage
      where user_id = ${user.id}`;
    return { truth: Number(t.b), counter: Number(c.b) };
  } finally {
    await sql.end();
  }
}

async function exists(bucket: string, key: string): Promise<boolean> {
  const sql = await adminSql();
  try {
    const rows =
      await sql`select 1 from storage.objects where bucket_id = ${bucket} and name = ${key}`;
    return rows.length === 1;
  } finally {
    await sql.end();
  }
}

function storageOf(user: TestUser): Promise<SupabaseClient> {
  return client(user.token);
}

Deno.test("overwrite reservation, move the old file away, PUT: refused, usage stays within the plan", async () => {
  const user = await userOn(1000);
  await put(user, OPEN, "old.txt", 900);
  const token = await reserve(user, OPEN, "old.txt", 900, "text/plain", true); // charged 0
  const sb = await storageOf(user);
  const moved = await sb.storage.from(OPEN).move(`${user.id}/old.txt`, `${user.id}/away.txt`);
  assert.equal(moved.error, null);
  const result = await putSigned(OPEN, user, "old.txt", token, 900);
  assert.match(result, /^quota_exceeded: /);
  assert.deepEqual(await stored(user), { truth: 900, counter: 900 });
});

Deno.test("overwrite reservation, move away, copy back onto the reserved key: refused", async () => {
  const user = await userOn(1000);
  await put(user, OPEN, "a.txt", 900);
  await reserve(user, OPEN, "a.txt", 900, "text/plain", true);
  const sb = await storageOf(user);
  assert.equal(
    (await sb.storage.from(OPEN).move(`${user.id}/a.txt`, `${user.id}/b.txt`)).error,
    null,
  );
  const copied = await sb.storage.from(OPEN).copy(`${user.id}/b.txt`, `${user.id}/a.txt`);
  assert.match(copied.error?.message ?? "ok", /^quota_exceeded: /);
  assert.equal(await exists(OPEN, `${user.id}/b.txt`), true, "the source stays");
  assert.deepEqual(await stored(user), { truth: 900, counter: 900 });
});

Deno.test("overwrite reservation, move away, upsert with the user's own token: refused", async () => {
  const user = await userOn(1000);
  await put(user, OPEN, "u.txt", 900);
  await reserve(user, OPEN, "u.txt", 900, "text/plain", true);
  const sb = await storageOf(user);
  assert.equal(
    (await sb.storage.from(OPEN).move(`${user.id}/u.txt`, `${user.id}/v.txt`)).error,
    null,
  );
  const up = await sb.storage.from(OPEN).upload(
    `${user.id}/u.txt`,
    new Blob([new Uint8Array(900).fill(98)], { type: "text/plain" }),
    { upsert: true, contentType: "text/plain" },
  );
  assert.match(up.error?.message ?? "ok", /^quota_exceeded: /);
  assert.deepEqual(await stored(user), { truth: 900, counter: 900 });
});

Deno.test("an honest overwrite that fits the plan still works", async () => {
  const user = await userOn(1000);
  await put(user, OPEN, "h.txt", 900);
  const token = await reserve(user, OPEN, "h.txt", 1000, "text/plain", true); // charged 100
  assert.equal(await putSigned(OPEN, user, "h.txt", token, 1000), "ok");
  assert.deepEqual(await stored(user), { truth: 1000, counter: 1000 });
});

Deno.test("a move into a bucket that refuses the type is refused; the source stays", async () => {
  const user = await userOn(100_000);
  await put(user, OPEN, "page.html", 10, "text/html");
  const sb = await storageOf(user);
  const moved = await sb.storage.from(OPEN).move(`${user.id}/page.html`, `${user.id}/page.mp3`, {
    destinationBucket: AUDIO,
  });
  assert.match(moved.error?.message ?? "ok", /^unsupported_media_type: /);
  assert.equal(await exists(OPEN, `${user.id}/page.html`), true);
  assert.equal(await exists(AUDIO, `${user.id}/page.mp3`), false);
  const copied = await sb.storage.from(OPEN).copy(`${user.id}/page.html`, `${user.id}/c.mp3`, {
    destinationBucket: AUDIO,
  });
  assert.notEqual(copied.error, null, "a copy without a reservation is refused as before");
});

Deno.test("a move past the bucket's file size limit or the plan's max_file_bytes is refused", async () => {
  const user = await userOn(100_000, 150);
  await put(user, OPEN, "big.mp3", 120, "audio/mpeg"); // over AUDIO's 100-byte limit
  await put(user, OPEN, "huge.mp3", 149, "audio/mpeg");
  const sb = await storageOf(user);
  const big = await sb.storage.from(OPEN).move(`${user.id}/big.mp3`, `${user.id}/big.mp3`, {
    destinationBucket: AUDIO,
  });
  assert.match(big.error?.message ?? "ok", /^file_too_large: /);
  assert.equal(await exists(OPEN, `${user.id}/big.mp3`), true);

  // The plan's cap, with the bucket limit lifted for this bucket.
  const sql = await adminSql();
  try {
    await sql`update storage.buckets set file_size_limit = null where id = ${AUDIO}`;
    await sql`update stowage.plans set max_file_bytes = 140
              where id = (select plan_id from stowage.user_plans where user_id = ${user.id})`;
  } finally {
    await sql.end();
  }
  try {
    const huge = await sb.storage.from(OPEN).move(`${user.id}/huge.mp3`, `${user.id}/huge.mp3`, {
      destinationBucket: AUDIO,
    });
    assert.match(huge.error?.message ?? "ok", /^file_too_large: /);
    assert.equal(await exists(OPEN, `${user.id}/huge.mp3`), true);
  } finally {
    const sql2 = await adminSql();
    await sql2`update storage.buckets set file_size_limit = 100 where id = ${AUDIO}`;
    await sql2.end();
  }
  const ok = await sb.storage.from(OPEN).move(`${user.id}/huge.mp3`, `${user.id}/in/huge.mp3`);
  assert.equal(ok.error, null, "a move within the bucket is not held to the other bucket's limits");
});

Deno.test("a move cannot make a key an upload may not", async () => {
  const user = await userOn(100_000);
  await put(user, OPEN, "src.txt", 5);
  const sb = await storageOf(user);
  for (const dest of ["d/", "a//b", "./x", "../x", "a/./b", "a/../b"]) {
    const moved = await sb.storage.from(OPEN).move(`${user.id}/src.txt`, `${user.id}/${dest}`);
    assert.match(moved.error?.message ?? "ok", /^invalid_path: /, dest);
  }
  assert.equal(await exists(OPEN, `${user.id}/src.txt`), true);
  const fine = await sb.storage.from(OPEN).move(`${user.id}/src.txt`, `${user.id}/d/e.txt`);
  assert.equal(fine.error, null);
});

Deno.test("live reservations per user are capped: 429 too_many_reservations", async () => {
  const user = await userOn(1000);
  const sql = await adminSql();
  const [before] = await sql`select max_live_reservations from stowage.settings`;
  await sql`update stowage.settings set max_live_reservations = 3`;
  try {
    for (let i = 0; i < 3; i++) await reserve(user, OPEN, `z${i}.txt`, 0);
    const again = await api("POST", "/uploads", user.token, {
      bucket: OPEN,
      path: "z0.txt",
      size: 0,
      contentType: "text/plain",
    });
    assert.equal(again.status, 201, "re-reserving a held key replaces it");
    const over = await api("POST", "/uploads", user.token, {
      bucket: OPEN,
      path: "z3.txt",
      size: 0,
      contentType: "text/plain",
    });
    assert.equal(over.status, 429, JSON.stringify(over.body));
    assert.equal(over.body.error.code, "too_many_reservations");
  } finally {
    await sql`update stowage.settings set max_live_reservations = ${before.max_live_reservations}`;
    await sql.end();
  }
});
