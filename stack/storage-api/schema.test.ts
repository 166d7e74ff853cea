/**
 * @module The storage schema of stack/baseline/20_storage.sql: ownership, RLS, the
 * protect_delete triggers, path helpers, and the listing functions' cap and matching.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { adminSql, stack } from "../../tests/support/stack.ts";

Deno.test("storage schema: owners, RLS, protect_delete, helpers, search cap", async (t) => {
  const sql = await adminSql();
  const owner = postgres((await stack()).dbUrl, { max: 1, onnotice: () => {} });
  const bucket = `schema-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await t.step("tables owned by supabase_storage_admin, RLS on", async () => {
      const rows = await sql<{ relname: string; owner: string; rls: boolean }[]>`
        select c.relname, pg_get_userbyid(c.relowner) as owner, c.relrowsecurity as rls
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'storage' and c.relname in ('objects', 'buckets', 'migrations')
        order by c.relname`;
      assert.deepEqual(rows.map((r) => [r.relname, r.owner, r.rls]), [
        ["buckets", "supabase_storage_admin", true],
        ["migrations", "supabase_storage_admin", true],
        ["objects", "supabase_storage_admin", true],
      ]);
    });

    await t.step("direct DELETE is refused with 42501 unless allowed", async () => {
      await assert.rejects(
        owner`delete from storage.objects where bucket_id = 'none'`,
        (e: { code?: string; message?: string }) =>
          e.code === "42501" &&
          /Direct deletion from storage tables is not allowed/.test(e.message ?? ""),
      );
      await owner.begin(async (tx) => {
        await tx`select set_config('storage.allow_delete_query', 'true', true)`;
        await tx`delete from storage.objects where bucket_id = 'none'`;
      });
    });

    await t.step("path helpers", async () => {
      const [r] = await sql`
        select storage.foldername('a/b/c.png') as f, storage.filename('a/b/c.png') as n,
               storage.extension('a/noext') as e1, storage.extension('c.tar.gz') as e2,
               storage.foldername('top.png') as top`;
      assert.deepEqual([r.f, r.n, r.e1, r.e2, r.top], [["a", "b"], "c.png", "noext", "gz", []]);
    });

    await t.step("search caps at 1500, matches prefixes case-insensitively", async () => {
      await sql`insert into storage.buckets (id, name) values (${bucket}, ${bucket})`;
      await sql`
        insert into storage.objects (bucket_id, name, metadata)
        select ${bucket}, 'Dir/f' || lpad(i::text, 5, '0'), '{}' from generate_series(1, 1600) i`;
      const [{ n }] = await sql`
        select count(*)::int as n from storage.search('dir/', ${bucket}, 5000, 2, 0)`;
      assert.equal(n, 1500);
      const v2 = await sql`
        select * from storage.search_v2('dir/', ${bucket}, 10, 2, '', 'asc', 'name', '')`;
      assert.equal(v2.length, 0, "list-v2 prefixes are case-sensitive");
      const [{ m }] = await sql`
        select count(*)::int as m from storage.search_v2('Dir/', ${bucket}, 5000, 2)`;
      assert.equal(m, 1500);
    });

    await t.step("operation helpers ignore a storage. prefix and never match nothing", async () => {
      const [r] = await sql.begin((tx) =>
        tx`select set_config('storage.operation', 'storage.object.upload', true),
                  storage.allow_only_operation('object.upload') as only,
                  storage.allow_only_operation('storage.object.upload') as prefixed,
                  storage.allow_only_operation('') as empty,
                  storage.allow_any_operation(array['object.list', 'object.upload']) as any,
                  storage.allow_any_operation(array['', null]::text[]) as none`
      );
      assert.deepEqual([r.only, r.prefixed, r.empty, r.any, r.none], [
        true,
        true,
        false,
        true,
        false,
      ]);
      const [unset] = await sql`select storage.allow_only_operation('object.upload') as only`;
      assert.equal(unset.only, false);
    });

    await t.step(
      "list_multipart_uploads_with_delimiter rolls keys up to the delimiter",
      async () => {
        await sql`
        insert into storage.s3_multipart_uploads
          (id, upload_signature, bucket_id, key, version, created_at)
        values (${bucket + "-u1"}, 's', ${bucket}, 'docs/a/1', 'v', now() - interval '2 min'),
               (${bucket + "-u2"}, 's', ${bucket}, 'docs/a/2', 'v', now() - interval '5 min'),
               (${bucket + "-u3"}, 's', ${bucket}, 'docs/b', 'v', now()),
               (${bucket + "-u4"}, 's', ${bucket}, 'other', 'v', now())`;
        const rows = await sql`
        select key, id from storage.list_multipart_uploads_with_delimiter(${bucket}, 'DOCS/', '/')`;
        assert.deepEqual(rows.map((r) => [r.key, r.id]), [
          ["docs/a/", `${bucket}-u2`],
          ["docs/b", `${bucket}-u3`],
        ]);
        const after = await sql`
        select key from storage.list_multipart_uploads_with_delimiter(${bucket}, '', '/', 1, 'docs/')`;
        assert.deepEqual(after.map((r) => r.key), ["other"]);
      },
    );
  } finally {
    await sql.begin(async (tx) => {
      await tx`select set_config('storage.allow_delete_query', 'true', true)`;
      await tx`delete from storage.objects where bucket_id = ${bucket}`;
      await tx`delete from storage.s3_multipart_uploads where bucket_id = ${bucket}`;
      await tx`delete from storage.buckets where id = ${bucket}`;
    });
    await owner.end();
    await sql.end();
  }
});
