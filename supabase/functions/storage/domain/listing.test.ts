/**
 * @module Cursors are opaque and bound to their prefix; the listing query walks
 * the `(bucket_id, name COLLATE "C")` index in key order even for a home that
 * holds most of the table, where the planner,
 * blind to the RLS filter's selectivity, would otherwise scan the whole table
 * and sort it. The plan is read with auto_explain (as NOTICEs), not timed.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { adminSql, stack } from "../../../../tests/support/stack.ts";
import { decodeCursor, encodeCursor, listPage } from "./listing.ts";
import { AppError } from "../../_shared/app-error.ts";

Deno.test("cursors round-trip opaque, URL-safe and bound to their prefix", () => {
  for (const entry of ["a/b.txt", "a/sub/", "a/x y (1)+&=.json", "a/" + "z".repeat(500)]) {
    const cursor = encodeCursor(entry);
    assert.match(cursor, /^[A-Za-z0-9_-]+$/);
    assert.equal(decodeCursor(cursor, "a/").entry, entry);
  }
});

Deno.test("a cursor records whether its last entry was a file or a folder, whatever the name ends with", () => {
  // Keys the service role can make although users may not: `d/`, `a//b`, the prefix itself.
  for (const entry of ["a/d/", "a//", "a/"]) {
    assert.deepEqual(decodeCursor(encodeCursor({ entry, kind: "file" }), "a/"), {
      entry,
      kind: "file",
    });
  }
  assert.deepEqual(decodeCursor(encodeCursor({ entry: "a/d/", kind: "folder" }), "a/"), {
    entry: "a/d/",
    kind: "folder",
  });
  // Cursors of the previous version (the bare entry) still decode as before.
  const legacy = (entry: string) =>
    btoa(entry).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  assert.deepEqual(decodeCursor(legacy("a/sub/"), "a/"), { entry: "a/sub/", kind: "folder" });
  assert.deepEqual(decodeCursor(legacy("a/x.txt"), "a/"), { entry: "a/x.txt", kind: "file" });
});

Deno.test("cursors from another prefix, garbage or non-UTF-8 are 400 invalid_request", () => {
  const invalid = (e: unknown) => e instanceof AppError && e.code === "invalid_request";
  assert.throws(() => decodeCursor(encodeCursor("b/x"), "a/"), invalid);
  assert.throws(() => decodeCursor(encodeCursor("a/"), "a/"), invalid);
  assert.throws(() => decodeCursor("!!", ""), invalid);
  assert.throws(() => decodeCursor("", ""), invalid);
  assert.throws(() => decodeCursor("_w", ""), invalid); // 0xFF: not UTF-8
  assert.throws(() => decodeCursor(encodeCursor("a\u0000"), ""), invalid);
});

const OBJECTS = 30_000;

Deno.test("a recursive page of a big home is an ordered index walk, not a table scan and sort", async () => {
  const admin = await adminSql();
  const userId = crypto.randomUUID();
  const bucket = `listing-plan-${userId.slice(0, 8)}`;
  const plans: string[] = [];
  // Superuser login with auto_explain loaded: every plan arrives as a NOTICE.
  const sql = postgres((await stack()).adminDbUrl, {
    max: 1,
    connection: {
      session_preload_libraries: "auto_explain",
      "auto_explain.log_min_duration": "0",
      "auto_explain.log_level": "notice",
      "auto_explain.log_nested_statements": "on",
    },
    onnotice: (notice) => plans.push(String(notice.message)),
  });
  try {
    await admin`insert into auth.users (id, email, aud, role)
                values (${userId}, ${`${bucket}@test.example`}, 'authenticated', 'authenticated')`;
    await admin`insert into storage.buckets (id, name) values (${bucket}, ${bucket})`;
    await admin`insert into stowage.bucket_homes (bucket_id, home_template) values (${bucket}, '{uid}/')`;
    await admin.begin(async (tx) => {
      await tx`set local session_replication_role = replica`; // rows only: no counters needed here
      await tx`insert into storage.objects (bucket_id, name, metadata)
               select ${bucket}, ${userId} || '/d' || (i / 100) || '/f' || i || '.txt',
                      jsonb_build_object('size', 1, 'mimetype', 'text/plain')
                 from generate_series(1, ${OBJECTS}) i`;
    });
    await admin`analyze storage.objects`;

    const page = await sql.begin(async (tx) => {
      await tx`select set_config('role', 'authenticated', true),
                      set_config('request.jwt.claims', ${
        JSON.stringify({ sub: userId, role: "authenticated" })
      }, true)`;
      plans.length = 0;
      return await listPage(tx, {
        bucket,
        home: `${userId}/`,
        prefix: "",
        recursive: true,
        limit: 1000,
      });
    });
    assert.equal(page.items.length, 1000);
    assert.ok(page.nextCursor);
    const plan = plans.find((p) => p.includes("storage.objects") || p.includes("objects o")) ??
      plans.join("\n");
    assert.match(plan, /Index (Only )?Scan using idx_objects_bucket_id_name/, plan);
    assert.doesNotMatch(plan, /Seq Scan|Sort Method/, plan);
  } finally {
    await sql.end();
    await admin.begin(async (tx) => {
      await tx`select set_config('storage.allow_delete_query', 'true', true)`;
      await tx`set local session_replication_role = replica`;
      await tx`delete from storage.objects where bucket_id = ${bucket}`;
      await tx`delete from stowage.bucket_homes where bucket_id = ${bucket}`;
      await tx`delete from storage.buckets where id = ${bucket}`;
      await tx`delete from auth.users where id = ${userId}`;
    });
    await admin.end();
  }
});
