/**
 * @module The Supabase baseline behaves as a hosted project: postgres is not a
 * superuser, may create policies and triggers on storage.objects but no
 * functions, tables or indexes in storage/auth, direct deletes are refused, and
 * `supabase db push` applies and records migrations as postgres.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import postgres from "postgres";
import { adminSql, stack } from "../tests/support/stack.ts";
import { applyBaseline, pushMigrations } from "./database.ts";

async function asPostgres<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres((await stack()).dbUrl, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

/** Runs `statement` as postgres in a transaction that is always rolled back; returns the SQLSTATE or "ok". */
async function tryAsPostgres(statement: string): Promise<string> {
  return await asPostgres(async (sql) => {
    try {
      await sql.begin(async (tx) => {
        await tx.unsafe(statement);
        throw new Error("rollback");
      });
      return "ok";
    } catch (error) {
      const code = (error as { code?: string }).code;
      return code ?? ((error as Error).message === "rollback" ? "ok" : (error as Error).message);
    }
  });
}

Deno.test("postgres is not a superuser and has the hosted attributes", async () => {
  const rows = await asPostgres((sql) =>
    sql`select rolsuper, rolcreaterole, rolcreatedb, rolbypassrls from pg_roles where rolname = current_user`
  );
  assert.deepEqual({ ...rows[0] }, {
    rolsuper: false,
    rolcreaterole: true,
    rolcreatedb: true,
    rolbypassrls: true,
  });
});

Deno.test("auth.uid(), auth.role() and auth.jwt() follow the request claims", async () => {
  const sub = crypto.randomUUID();
  const rows = await asPostgres((sql) =>
    sql.begin((tx) =>
      tx`select set_config('request.jwt.claims', ${
        JSON.stringify({ sub, role: "authenticated", email: "a@b.c" })
      }, true),
                auth.uid()::text as uid, auth.role() as role, auth.email() as email, auth.jwt() ->> 'sub' as jwt_sub`
    )
  );
  assert.equal(rows[0].uid, sub);
  assert.equal(rows[0].role, "authenticated");
  assert.equal(rows[0].email, "a@b.c");
  assert.equal(rows[0].jwt_sub, sub);
  const legacy = await asPostgres((sql) =>
    sql.begin((tx) =>
      tx`select set_config('request.jwt.claim.sub', ${sub}, true), auth.uid()::text as uid`
    )
  );
  assert.equal(legacy[0].uid, sub);
});

Deno.test("postgres cannot create functions, tables or indexes in storage or auth", async () => {
  assert.equal(
    await tryAsPostgres("create function storage.f() returns int language sql as 'select 1'"),
    "42501",
  );
  assert.equal(await tryAsPostgres("create table storage.t (id int)"), "42501");
  assert.equal(await tryAsPostgres("create index on storage.objects (created_at)"), "42501");
  assert.equal(await tryAsPostgres("create table auth.t (id int)"), "42501");
  assert.equal(
    await tryAsPostgres("alter table storage.objects disable row level security"),
    "42501",
  );
});

Deno.test("postgres can create and drop policies and triggers on storage.objects, not on other storage tables", async () => {
  assert.equal(
    await tryAsPostgres(
      `create policy p_test on storage.objects for select to authenticated using (true);
                         drop policy p_test on storage.objects`,
    ),
    "ok",
  );
  assert.equal(
    await tryAsPostgres(
      `create function public.noop() returns trigger language plpgsql as 'begin return new; end';
                         create trigger t_test before insert on storage.objects for each row execute function public.noop();
                         drop trigger t_test on storage.objects`,
    ),
    "ok",
  );
  assert.equal(
    await tryAsPostgres("create policy p_test on storage.migrations using (true)"),
    "42501",
  );
  // The temporary owner membership never outlives the statement.
  const members = await asPostgres((sql) =>
    sql`select count(*)::int as n from pg_auth_members m join pg_roles r on r.oid = m.roleid
         where m.member = 'postgres'::regrole and r.rolname in ('supabase_storage_admin', 'supabase_auth_admin')`
  );
  assert.equal(members[0].n, 0);
});

Deno.test("a direct DELETE FROM storage.objects is refused", async () => {
  assert.equal(await tryAsPostgres("delete from storage.objects where false"), "42501");
});

Deno.test("supabase db push applies migrations as postgres and records them; a bad one fails", async () => {
  const s = await stack();
  const admin = await adminSql();
  const dbName = `push_${crypto.randomUUID().slice(0, 8)}`;
  const project = await Deno.makeTempDir({ prefix: "stowage-push-" });
  try {
    await admin.unsafe(`create database ${dbName} owner postgres`);
    const adminUrl = s.adminDbUrl.replace(/\/postgres$/, `/${dbName}`);
    await applyBaseline(adminUrl, new URL("./baseline", import.meta.url).pathname);
    const migrations = join(project, "supabase/migrations");
    await Deno.mkdir(migrations, { recursive: true });
    await Deno.writeTextFile(join(project, "supabase/config.toml"), 'project_id = "push-test"\n');
    await Deno.writeTextFile(
      join(migrations, "20260101000000_policy.sql"),
      `create policy own_files on storage.objects for select to authenticated using (owner_id = auth.uid()::text);
       create function public.touch() returns trigger language plpgsql as 'begin return new; end';
       create trigger touch before update on storage.objects for each row execute function public.touch();`,
    );
    const postgresUrl = s.dbUrl.replace(/\/postgres$/, `/${dbName}`);
    const output = await pushMigrations(project, postgresUrl);
    // CLI 3's own form of the target: no deprecation warning (`--db-url` goes in v4).
    assert.doesNotMatch(output, /deprecated/i);
    const db = postgres(adminUrl, { max: 1, onnotice: () => {} });
    try {
      const versions =
        await db`select version from supabase_migrations.schema_migrations order by version`;
      assert.deepEqual(versions.map((r) => r.version), ["20260101000000"]);
      const policies =
        await db`select policyname from pg_policies where tablename = 'objects' and schemaname = 'storage'`;
      assert.ok(policies.some((p) => p.policyname === "own_files"));
    } finally {
      await db.end();
    }
    await Deno.writeTextFile(
      join(migrations, "20260101000001_bad.sql"),
      "create function storage.mine() returns int language sql as 'select 1';",
    );
    await assert.rejects(
      pushMigrations(project, postgresUrl),
      /permission denied for schema storage/,
    );
  } finally {
    await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    await admin.end();
    await Deno.remove(project, { recursive: true });
  }
});
