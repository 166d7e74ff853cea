/**
 * @module The baseline's storage schema is the one supabase/storage v1.70.6 leaves: the
 * baseline is built in a fresh database and its `storage` schema (the 64 migration rows,
 * tables, columns, constraints, indexes, types, function signatures, triggers, owners, grants,
 * policies) is compared with stack/baseline/fixtures/storage-v1.70.6.json, recorded from the
 * real server's own migrations. The real server validates exactly these migration rows at
 * start; with all 64 present and their hashes equal it runs no migration.
 *
 * The only differences allowed are listed in KEPT_DIFFERENCES, each with its reason.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { adminSql, stack } from "../tests/support/stack.ts";
import { applyBaseline } from "./database.ts";

interface Column {
  name: string;
  type: string;
  notNull: boolean;
  default: string | null;
}

interface Table {
  name: string;
  owner: string;
  rls: boolean;
  columns: Column[];
}

interface StorageSchema {
  migrations: { id: number; name: string; hash: string }[];
  tables: Table[];
  constraints: { table: string; name: string; definition: string }[];
  indexes: string[];
  types: { name: string; labels: string[] }[];
  functions: {
    name: string;
    arguments: string;
    returns: string;
    language: string;
    volatility: string;
    owner: string;
  }[];
  triggers: string[];
  grants: {
    schema: { owner: string; acl: string[] };
    tables: Record<string, string[]>;
    functions: Record<string, string[]>;
  };
  policies: unknown[];
}

const fixture: StorageSchema = JSON.parse(
  await Deno.readTextFile(new URL("./baseline/fixtures/storage-v1.70.6.json", import.meta.url)),
);

/**
 * Differences from the recorded server that the baseline keeps on purpose. Each rewrites the
 * fixture's value at `path` into what the baseline must have instead.
 */
const KEPT_DIFFERENCES: {
  path: string;
  reason: string;
  apply: (schema: StorageSchema) => void;
}[] = [
  {
    path: "grants.tables.storage.migrations",
    reason: "Hosted Supabase revokes the storage migration history from postgres and the API " +
      "roles (supabase/postgres migration 20250421084701, HOSTED_ROLES.md §2): a user " +
      "migration that writes storage.migrations fails on a hosted project, so it fails here. " +
      "The real server, run on plain roles, leaves them ALL.",
    apply: (schema) => {
      schema.grants.tables["storage.migrations"] = schema.grants.tables["storage.migrations"]
        .filter((item) => !/^(postgres|anon|authenticated|service_role)=/.test(item));
    },
  },
];

/** Reads the `storage` schema of the database at `url` in the fixture's shape. */
async function dumpStorage(url: string): Promise<StorageSchema> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const migrations = await sql<StorageSchema["migrations"]>`
      select id, name, hash from storage.migrations order by id`;
    const tableRows = await sql<{ oid: number; name: string; owner: string; rls: boolean }[]>`
      select c.oid::int as oid, 'storage.' || c.relname as name,
             pg_get_userbyid(c.relowner) as owner, c.relrowsecurity as rls
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'storage' and c.relkind in ('r', 'p')
      order by c.relname`;
    const tables: Table[] = [];
    for (const t of tableRows) {
      const columns = await sql<Column[]>`
        select a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
               a.attnotnull as "notNull", pg_get_expr(d.adbin, d.adrelid) as default
        from pg_attribute a
        left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where a.attrelid = ${t.oid} and a.attnum > 0 and not a.attisdropped
        order by a.attnum`;
      tables.push({ name: t.name, owner: t.owner, rls: t.rls, columns: [...columns] });
    }
    const constraints = await sql<StorageSchema["constraints"]>`
      select 'storage.' || c.relname as table, k.conname as name,
             pg_get_constraintdef(k.oid) as definition
      from pg_constraint k join pg_class c on c.oid = k.conrelid
      join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'storage'`;
    const indexes = await sql<{ def: string }[]>`
      select indexdef as def from pg_indexes where schemaname = 'storage'`;
    const types = await sql<StorageSchema["types"]>`
      select 'storage.' || t.typname as name,
             array_agg(e.enumlabel order by e.enumsortorder) as labels
      from pg_type t join pg_namespace n on n.oid = t.typnamespace
      join pg_enum e on e.enumtypid = t.oid
      where n.nspname = 'storage' group by t.typname order by t.typname`;
    const functions = await sql<StorageSchema["functions"]>`
      select 'storage.' || p.proname as name, pg_get_function_identity_arguments(p.oid) as arguments,
             pg_get_function_result(p.oid) as returns, l.lanname as language,
             case p.provolatile when 'i' then 'immutable' when 's' then 'stable' else 'volatile' end
               as volatility,
             pg_get_userbyid(p.proowner) as owner
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      join pg_language l on l.oid = p.prolang
      where n.nspname = 'storage'`;
    const triggers = await sql<{ def: string }[]>`
      select pg_get_triggerdef(t.oid) as def
      from pg_trigger t join pg_class c on c.oid = t.tgrelid
      join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'storage' and not t.tgisinternal`;
    const [schema] = await sql<{ owner: string; acl: string[] }[]>`
      select pg_get_userbyid(nspowner) as owner, nspacl::text[] as acl
      from pg_namespace where nspname = 'storage'`;
    const tableAcl = await sql<{ name: string; acl: string[] | null }[]>`
      select 'storage.' || c.relname as name, c.relacl::text[] as acl
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'storage' and c.relkind in ('r', 'p')`;
    const functionAcl = await sql<{ name: string; acl: string[] | null }[]>`
      select 'storage.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
               as name, p.proacl::text[] as acl
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'storage'`;
    const policies = await sql`
      select tablename, policyname from pg_policies where schemaname = 'storage'`;
    return {
      migrations: migrations.map((m) => ({ id: m.id, name: m.name, hash: m.hash })),
      tables,
      constraints: [...constraints],
      indexes: indexes.map((r) => r.def),
      types: [...types],
      functions: [...functions],
      triggers: triggers.map((r) => r.def),
      grants: {
        schema: { owner: schema.owner, acl: schema.acl },
        tables: Object.fromEntries(tableAcl.map((r) => [r.name, r.acl ?? []])),
        functions: Object.fromEntries(functionAcl.map((r) => [r.name, r.acl ?? []])),
      },
      policies: [...policies],
    };
  } finally {
    await sql.end();
  }
}

/** Order-insensitive form: lists of objects sorted, ACLs sorted (their order is history, not state). */
function normalize(schema: StorageSchema): StorageSchema {
  const byJson = <T>(items: T[]) =>
    [...items].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  const sortValues = (record: Record<string, string[]>) =>
    Object.fromEntries(
      Object.entries(record).sort(([a], [b]) => a.localeCompare(b)).map((
        [k, v],
      ) => [k, [...v].sort()]),
    );
  return {
    migrations: [...schema.migrations].sort((a, b) => a.id - b.id),
    tables: byJson(schema.tables),
    constraints: byJson(schema.constraints),
    indexes: [...schema.indexes].sort(),
    types: byJson(schema.types),
    functions: byJson(schema.functions),
    triggers: [...schema.triggers].sort(),
    grants: {
      schema: { owner: schema.grants.schema.owner, acl: [...schema.grants.schema.acl].sort() },
      tables: sortValues(schema.grants.tables),
      functions: sortValues(schema.grants.functions),
    },
    policies: byJson(schema.policies),
  };
}

Deno.test("the baseline's storage schema is the one supabase/storage v1.70.6 leaves", async (t) => {
  const s = await stack();
  const admin = await adminSql();
  const dbName = `schema_${crypto.randomUUID().slice(0, 8)}`;
  try {
    await admin.unsafe(`create database ${dbName} owner postgres`);
    const url = s.adminDbUrl.replace(/\/postgres$/, `/${dbName}`);
    await applyBaseline(url, new URL("./baseline", import.meta.url).pathname);
    const actual = normalize(await dumpStorage(url));
    const expected: StorageSchema = structuredClone(fixture);
    for (const difference of KEPT_DIFFERENCES) difference.apply(expected);
    const want = normalize(expected);

    await t.step("storage.migrations holds v1.70.6's 64 rows: ids from 0, names, hashes", () => {
      assert.equal(fixture.migrations.length, 64);
      assert.equal(fixture.migrations[0].id, 0);
      assert.equal(fixture.migrations[0].name, "create-migrations-table");
      assert.deepEqual(actual.migrations, want.migrations);
    });
    await t.step("tables: owners, RLS, columns (types, NOT NULL, defaults)", () => {
      assert.deepEqual(actual.tables.map((x) => x.name), want.tables.map((x) => x.name));
      for (const [i, table] of want.tables.entries()) {
        assert.deepEqual(actual.tables[i], table, table.name);
      }
    });
    await t.step("constraints", () => assert.deepEqual(actual.constraints, want.constraints));
    await t.step("indexes", () => assert.deepEqual(actual.indexes, want.indexes));
    await t.step("types", () => assert.deepEqual(actual.types, want.types));
    await t.step("function signatures, languages, volatility, owners", () => {
      assert.deepEqual(actual.functions, want.functions);
    });
    await t.step("triggers", () => assert.deepEqual(actual.triggers, want.triggers));
    await t.step("grants on the schema, tables and functions", () => {
      assert.deepEqual(actual.grants.schema, want.grants.schema);
      assert.deepEqual(actual.grants.tables, want.grants.tables);
      assert.deepEqual(actual.grants.functions, want.grants.functions);
    });
    await t.step("no policies of the server's own", () => {
      assert.deepEqual(actual.policies, want.policies);
    });
  } finally {
    await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  }
});
