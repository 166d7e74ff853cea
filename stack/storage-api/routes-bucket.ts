/**
 * @module Bucket routes (`src/http/routes/bucket/*`): every query as the caller, so RLS
 * on `storage.buckets` decides; `empty` is service-role only.
 */
import { type Ctx, iso, json } from "./context.ts";
import { ERRORS, fromDbError, StorageError } from "./errors.ts";
import { findBucket } from "./objects.ts";
import { check, mustBeValidBucketName, type Prop } from "./validate.ts";

type Row = Record<string, unknown>;
const EMPTY_BUCKET_MAX = 200_000;
const MIME_RE = /^([a-zA-Z0-9\-+.]+)\/([a-zA-Z0-9\-+.]+)(;\s*charset=[a-zA-Z0-9\-]+)?$|\*$/;

/** `"20MB"`, `"1.5GB"`, `"30KB"`, `"3B"` (decimal units) or an integer. */
function parseSize(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw ERRORS.validation("body/file_size_limit must be integer");
    return value;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB)?\s*$/i.exec(String(value));
  if (!m) throw ERRORS.invalidParameter("file_size_limit");
  const unit = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 }[(m[2] ?? "B").toUpperCase()]!;
  return Math.round(Number(m[1]) * unit);
}

function settings(ctx: Ctx, body: Row) {
  const limit = "file_size_limit" in body ? parseSize(body.file_size_limit) : undefined;
  if (typeof limit === "number" && limit > ctx.api.fileSizeLimit) throw ERRORS.entityTooLarge();
  let mimes: string[] | null | undefined = undefined;
  if ("allowed_mime_types" in body) {
    const raw = body.allowed_mime_types as unknown[] | null;
    mimes = raw === null ? null : raw.filter((m) => !!m).map(String);
    for (const m of mimes ?? []) if (!MIME_RE.test(m)) throw ERRORS.invalidMimeType(m);
  }
  return { limit, mimes };
}

const SETTINGS: Record<string, Prop> = {
  public: { type: "boolean" },
  file_size_limit: { type: "string", nullable: true },
  allowed_mime_types: { type: "array", nullable: true, items: { type: "string" } },
};

async function rawBody(ctx: Ctx): Promise<Row> {
  const raw = await ctx.json();
  const body = check(raw, { props: {} }, "body");
  return { ...(raw as Row), ...body };
}

/** `POST /bucket` → `{"name": <name>}`. */
export async function createBucket(ctx: Ctx): Promise<Response> {
  ctx.operation = "storage.bucket.create";
  const raw = await rawBody(ctx);
  const body = check(raw, {
    props: {
      name: { type: "string" },
      id: { type: "string" },
      public: { type: "boolean" },
      type: { type: "string", enum: ["STANDARD", "ANALYTICS"] },
    },
    required: ["name"],
  }, "body");
  if (typeof raw.file_size_limit === "boolean" || Array.isArray(raw.file_size_limit)) {
    throw ERRORS.validation("body/file_size_limit must be integer,string,null");
  }
  ctx.requireAuthHeader();
  await ctx.authenticate();
  const name = body.name as string;
  const id = (body.id as string | undefined) ?? name;
  if (id !== id.trim() || id.endsWith("--table-s3")) throw ERRORS.invalidBucketName(id);
  mustBeValidBucketName(id);
  const { limit, mimes } = settings(ctx, raw);
  const owner = ctx.caller.sub || null;
  await ctx.api.db.run(ctx.userScope(), (tx) =>
    tx`
      insert into storage.buckets (id, name, owner, owner_id, public, file_size_limit,
                                   allowed_mime_types, type)
      values (${id}, ${name}, ${owner && /^[0-9a-f-]{36}$/i.test(owner) ? owner : null}, ${owner},
              ${body.public === true}, ${limit ?? null}, ${mimes ?? null},
              ${(body.type as string | undefined) ?? "STANDARD"})`).catch((e) => {
      throw fromDbError(e, ERRORS.bucketAlreadyExists);
    });
  return json({ name });
}

function bucketBody(row: Row, withType: boolean): Row {
  const out: Row = {
    id: row.id,
    name: row.name,
    owner: row.owner ?? "",
    public: row.public,
  };
  if (withType) out.type = row.type;
  out.file_size_limit = row.file_size_limit === null ? null : Number(row.file_size_limit);
  out.allowed_mime_types = row.allowed_mime_types;
  out.created_at = iso(row.created_at);
  out.updated_at = iso(row.updated_at);
  return out;
}

/** `GET /bucket[?limit&offset&sortColumn&sortOrder&search]`. */
export async function listBuckets(ctx: Ctx): Promise<Response> {
  ctx.operation = "storage.bucket.list";
  const q = check(Object.fromEntries(ctx.url.searchParams), {
    props: {
      limit: { type: "integer", minimum: 1 },
      offset: { type: "integer", minimum: 0 },
      sortColumn: { type: "string", enum: ["id", "name", "created_at", "updated_at"] },
      sortOrder: { type: "string", enum: ["asc", "desc"] },
      search: { type: "string" },
    },
  }, "querystring");
  ctx.requireAuthHeader();
  await ctx.authenticate();
  const rows = await ctx.api.db.run(ctx.userScope(), (tx) => {
    const search = q.search ? tx`where name ilike ${`%${q.search}%`}` : tx``;
    const order = q.sortColumn
      ? tx`order by ${tx(q.sortColumn as string)} ${q.sortOrder === "desc" ? tx`desc` : tx`asc`}`
      : tx``;
    return tx<Row[]>`
      select id, name, owner, public, type, file_size_limit, allowed_mime_types, created_at,
             updated_at
      from storage.buckets ${search} ${order}
      limit ${(q.limit as number | undefined) ?? null} offset ${
      (q.offset as number | undefined) ?? 0
    }`;
  }).catch((e) => {
    throw fromDbError(e);
  });
  return json(rows.map((r) => bucketBody(r, true)));
}

/** `GET /bucket/{id}`. */
export async function getBucket(ctx: Ctx): Promise<Response> {
  ctx.operation = "storage.bucket.get";
  ctx.requireAuthHeader();
  await ctx.authenticate();
  const [id] = ctx.params;
  const rows = await ctx.api.db.run(ctx.userScope(), (tx) =>
    tx<Row[]>`
      select id, name, owner, public, file_size_limit, allowed_mime_types, created_at, updated_at
      from storage.buckets where id = ${id} limit 1`).catch((e) => {
      throw fromDbError(e);
    });
  if (rows.length === 0) throw ERRORS.noSuchBucket();
  return json(bucketBody(rows[0], false));
}

/** `PUT /bucket/{id}` `{public?, file_size_limit?, allowed_mime_types?}`. */
export async function updateBucket(ctx: Ctx): Promise<Response> {
  ctx.operation = "storage.bucket.update";
  const raw = await rawBody(ctx);
  check(raw, { props: { public: SETTINGS.public } }, "body");
  if (!("public" in raw || "file_size_limit" in raw || "allowed_mime_types" in raw)) {
    throw ERRORS.validation("body must match a schema in anyOf");
  }
  ctx.requireAuthHeader();
  await ctx.authenticate();
  const [id] = ctx.params;
  const { limit, mimes } = settings(ctx, raw);
  const rows = await ctx.api.db.run(ctx.userScope(), (tx) =>
    tx`
      update storage.buckets set
        public = coalesce(${typeof raw.public === "boolean" ? raw.public : null}, public),
        file_size_limit = case when ${limit !== undefined} then ${limit ?? null}::bigint
                               else file_size_limit end,
        allowed_mime_types = case when ${mimes !== undefined} then ${mimes ?? null}::text[]
                                  else allowed_mime_types end,
        updated_at = now()
      where id = ${id} returning id`).catch((e) => {
      throw fromDbError(e);
    });
  if (rows.length === 0) throw ERRORS.noSuchBucket();
  return json({ message: "Successfully updated" });
}

/** `DELETE /bucket/{id}`: refuses a bucket that still has objects. */
export async function deleteBucket(ctx: Ctx): Promise<Response> {
  ctx.operation = "storage.bucket.delete";
  ctx.requireAuthHeader();
  await ctx.authenticate();
  const [id] = ctx.params;
  await ctx.api.db.run(ctx.userScope(), async (tx) => {
    const objects = await tx`select 1 from storage.objects where bucket_id = ${id} limit 1`;
    if (objects.length > 0) throw ERRORS.resourceNotEmpty();
    const rows = await tx`delete from storage.buckets where id = ${id} returning id`;
    if (rows.length === 0) throw ERRORS.noSuchBucket();
  }).catch((e) => {
    throw e instanceof StorageError ? e : fromDbError(e);
  });
  return json({ message: "Successfully deleted" });
}

/** `POST /bucket/{id}/empty`: service role only; deletes every object (synchronously here). */
export async function emptyBucket(ctx: Ctx): Promise<Response> {
  ctx.operation = "storage.bucket.empty";
  ctx.requireAuthHeader();
  await ctx.authenticate();
  if (ctx.caller.role !== "service_role") throw ERRORS.invalidRole();
  const [id] = ctx.params;
  await findBucket(ctx, id);
  const [{ count }] = await ctx.api.db.run(
    ctx.serviceScope(),
    (tx) =>
      tx<
        { count: number }[]
      >`select count(*)::int as count from storage.objects where bucket_id = ${id}`,
  );
  if (count > EMPTY_BUCKET_MAX) throw ERRORS.tooManyObjectsToEmpty();
  for (;;) {
    const rows = await ctx.api.db.run(ctx.serviceScope(), async (tx) => {
      const rows = await tx<{ bucket_id: string; name: string; version: string | null }[]>`
        delete from storage.objects where id in (
          select id from storage.objects where bucket_id = ${id} limit 500)
        returning bucket_id, name, version`;
      for (const r of rows) await ctx.api.disk.remove(r.bucket_id, r.name, r.version);
      return rows;
    }).catch((e) => {
      throw fromDbError(e);
    });
    if (rows.length === 0) break;
  }
  return json({ message: "Empty bucket has been queued. Completion may take up to an hour." });
}
