/**
 * @module SQL of object rows shared by the routes: the service-role bucket lookup, the
 * permission-test write (always rolled back), the final service-role upsert under an
 * advisory lock, and the serialisation of rows as the real response schemas do.
 */
import type { Ctx } from "./context.ts";
import { iso } from "./context.ts";
import type { Scope, Tx } from "./db.ts";
import { ERRORS, fromDbError } from "./errors.ts";

/** The bucket columns uploads and reads need. */
export interface BucketRow {
  id: string;
  public: boolean;
  file_size_limit: number | null;
  allowed_mime_types: string[] | null;
}

/** A `storage.objects` row as the driver returns it. */
export type ObjectRow = Record<string, unknown> & {
  id: string;
  name: string;
  bucket_id: string;
  version: string | null;
  metadata: Record<string, unknown> | null;
};

/** Looks a bucket up as service_role; `NoSuchBucket` when missing. */
export async function findBucket(ctx: Ctx, bucket: string): Promise<BucketRow> {
  const rows = await ctx.api.db.run(ctx.serviceScope(), (tx) =>
    tx<BucketRow[]>`
      select id, public, file_size_limit, allowed_mime_types
      from storage.buckets where id = ${bucket} limit 1`).catch((e) => {
      throw fromDbError(e);
    });
  if (rows.length === 0) throw ERRORS.noSuchBucket();
  return { ...rows[0], file_size_limit: toNumber(rows[0].file_size_limit) };
}

function toNumber(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

/** The values an object write carries. */
export interface ObjectWrite {
  bucket: string;
  key: string;
  /** `sub` of the writer; undefined keeps the current owner on overwrite. */
  owner?: string;
  metadata: Record<string, unknown> | null;
  userMetadata: Record<string, unknown> | null | undefined;
  version: string;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function ownerUuid(owner: string | undefined): string | null {
  return owner && UUID_RE.test(owner) ? owner : null;
}

/** The INSERT (or INSERT ... ON CONFLICT DO UPDATE ... RETURNING *) of an object write. */
async function writeRow(tx: Tx, w: ObjectWrite, upsert: boolean): Promise<ObjectRow[]> {
  const owner = ownerUuid(w.owner);
  const ownerId = w.owner ?? null;
  const meta = w.metadata === null ? null : tx.json(w.metadata as never);
  const userMeta = w.userMetadata == null ? null : tx.json(w.userMetadata as never);
  if (!upsert) {
    await tx`
      insert into storage.objects (name, owner, owner_id, bucket_id, metadata, user_metadata, version)
      values (${w.key}, ${owner}, ${ownerId}, ${w.bucket}, ${meta}, ${userMeta}, ${w.version})`;
    return [];
  }
  const keepOwner = w.owner === undefined;
  return await tx<ObjectRow[]>`
    insert into storage.objects (name, owner, owner_id, bucket_id, metadata, user_metadata, version)
    values (${w.key}, ${owner}, ${ownerId}, ${w.bucket}, ${meta}, ${userMeta}, ${w.version})
    on conflict (name, bucket_id) do update set
      metadata = excluded.metadata,
      user_metadata = excluded.user_metadata,
      version = excluded.version,
      owner = case when ${keepOwner} then storage.objects.owner else excluded.owner end,
      owner_id = case when ${keepOwner} then storage.objects.owner_id else excluded.owner_id end
    returning *`;
}

/**
 * The permission test: the write as `scope`, always rolled back. RLS, the unique index
 * and triggers answer here, before any byte is stored.
 */
export async function testPermission(
  ctx: Ctx,
  scope: Scope,
  w: ObjectWrite,
  upsert: boolean,
): Promise<void> {
  try {
    await ctx.api.db.dryRun(scope, (tx) => writeRow(tx, { ...w, version: "1" }, upsert));
  } catch (e) {
    throw fromDbError(e, ERRORS.keyAlreadyExists);
  }
}

/**
 * The final write as service_role: advisory lock (5 s), `SELECT ... FOR UPDATE`, one
 * upsert. Returns the row and the version it replaced.
 */
export async function completeWrite(
  ctx: Ctx,
  w: ObjectWrite,
): Promise<{ row: ObjectRow; previousVersion: string | null }> {
  try {
    return await ctx.api.db.run(ctx.serviceScope(), async (tx) => {
      await tx`select set_config('lock_timeout', '5000ms', true)`;
      await tx`select pg_advisory_xact_lock(hashtext(${`${w.bucket}/${w.key}`}))`;
      const current = await tx<{ version: string | null }[]>`
        select id, version, metadata from storage.objects
        where name = ${w.key} and bucket_id = ${w.bucket} for update`;
      await tx`select set_config('lock_timeout', '0', true)`;
      const [row] = await writeRow(tx, w, true);
      return { row, previousVersion: current[0]?.version ?? null };
    });
  } catch (e) {
    if ((e as { code?: string }).code === "55P03") throw ERRORS.lockTimeout();
    throw fromDbError(e, ERRORS.keyAlreadyExists);
  }
}

/** Finds one object as `scope` (RLS applies to the caller's scope). */
export async function findObject(
  ctx: Ctx,
  scope: Scope,
  bucket: string,
  key: string,
): Promise<ObjectRow> {
  const rows = await ctx.api.db.run(scope, (tx) =>
    tx<ObjectRow[]>`
      select id, name, bucket_id, version, metadata, user_metadata, updated_at, created_at
      from storage.objects where name = ${key} and bucket_id = ${bucket} limit 1`).catch((e) => {
      throw fromDbError(e);
    });
  if (rows.length === 0) throw ERRORS.noSuchKey();
  return rows[0];
}

/** The row as `objectSchema` serialises it (NULL strings become `""`). */
export function objectBody(row: ObjectRow): Record<string, unknown> {
  return {
    name: row.name ?? "",
    bucket_id: row.bucket_id ?? "",
    owner: row.owner ?? "",
    owner_id: row.owner_id ?? "",
    version: row.version ?? "",
    id: row.id ?? "",
    updated_at: iso(row.updated_at) ?? "",
    created_at: iso(row.created_at) ?? "",
    last_accessed_at: iso(row.last_accessed_at) ?? "",
    metadata: row.metadata ?? null,
    user_metadata: row.user_metadata ?? null,
  };
}
