/**
 * @module Listing: `POST /object/list/{bucket}` through `storage.search` and
 * `POST /object/list-v2/{bucket}` through `storage.search_v2` (with delimiter) or a flat
 * prefix query (without), both as the caller so RLS filters rows.
 */
import { type Ctx, iso, json } from "./context.ts";
import { ERRORS, fromDbError } from "./errors.ts";
import { mustBeValidBucketName } from "./validate.ts";

const SORT_V1 = ["name", "updated_at", "created_at", "last_accessed_at"] as const;
const SORT_V2 = ["name", "updated_at", "created_at"] as const;
const ORDER = ["asc", "desc"] as const;

type Row = Record<string, unknown>;

function entry(row: Row): Row {
  return {
    name: row.name,
    id: row.id,
    updated_at: iso(row.updated_at),
    created_at: iso(row.created_at),
    last_accessed_at: iso(row.last_accessed_at),
    metadata: row.metadata,
  };
}

/** list v1: one folder level, relative names, folders as rows of NULLs. */
export async function listObjects(ctx: Ctx): Promise<Response> {
  ctx.operation = "storage.object.list";
  const body = await ctx.body({
    props: {
      prefix: { type: "string" },
      limit: { type: "integer", minimum: 1 },
      offset: { type: "integer", minimum: 0 },
      sortBy: {
        type: "object",
        props: {
          column: { type: "string", enum: SORT_V1 },
          order: { type: "string", enum: ORDER },
        },
        required: ["column"],
      },
      search: { type: "string" },
    },
    required: ["prefix"],
  });
  ctx.requireAuthHeader();
  await ctx.authenticate();
  const [bucket] = ctx.params;
  mustBeValidBucketName(bucket);
  let prefix = body.prefix as string;
  if (prefix.length > 0 && !prefix.endsWith("/")) prefix += "/";
  const search = (body.search as string | undefined) ?? "";
  const sortBy = body.sortBy as { column?: string; order?: string } | undefined;
  const levels = (prefix + search).split("/").length;
  const rows = await ctx.api.db.run(ctx.userScope(), (tx) =>
    tx<Row[]>`
      select * from storage.search(
        ${prefix}, ${bucket}, ${(body.limit as number | undefined) ?? 100}, ${levels},
        ${(body.offset as number | undefined) ?? 0}, ${search}, ${sortBy?.column ?? "name"},
        ${sortBy?.order ?? "asc"})`).catch((e) => {
      throw fromDbError(e);
    });
  return json(rows.map(entry));
}

interface Cursor {
  startAfter: string;
  order?: string;
  column?: string;
  after?: string;
}

function decodeCursor(cursor: string): Cursor {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(atob(cursor), (c) => c.charCodeAt(0)),
    );
  } catch {
    throw ERRORS.invalidParameter("continuation token");
  }
  const out: Partial<Cursor> = {};
  for (const line of text.split("\n")) {
    const [k, v] = [line.slice(0, 2), line.slice(2)];
    if (k === "l:") out.startAfter = v;
    else if (k === "o:") out.order = v;
    else if (k === "c:") out.column = v;
    else if (k === "a:") out.after = v;
    else throw ERRORS.invalidParameter("continuation token");
  }
  if (out.startAfter === undefined) throw ERRORS.invalidParameter("continuation token");
  if (out.order !== undefined && !ORDER.includes(out.order as "asc")) {
    throw ERRORS.invalidParameter("continuation token");
  }
  return { order: out.order ?? "asc", ...out } as Cursor;
}

function encodeCursor(c: Cursor): string {
  const lines = [`l:${c.startAfter}`];
  if (c.order) lines.push(`o:${c.order}`);
  if (c.column) lines.push(`c:${c.column}`);
  if (c.after) lines.push(`a:${c.after}`);
  const bytes = new TextEncoder().encode(lines.join("\n"));
  return btoa(String.fromCharCode(...bytes));
}

/** list-v2: cursor pages of full names; folders end in `/` when `with_delimiter`. */
export async function listObjectsV2(ctx: Ctx): Promise<Response> {
  ctx.operation = "storage.object.list_v2";
  const body = await ctx.body({
    props: {
      prefix: { type: "string" },
      limit: { type: "integer", minimum: 1 },
      cursor: { type: "string" },
      with_delimiter: { type: "boolean" },
      sortBy: {
        type: "object",
        props: {
          column: { type: "string", enum: SORT_V2 },
          order: { type: "string", enum: ORDER },
        },
      },
    },
  });
  ctx.requireAuthHeader();
  await ctx.authenticate();
  const [bucket] = ctx.params;
  mustBeValidBucketName(bucket);
  const prefix = (body.prefix as string | undefined) ?? "";
  const limit = Math.min((body.limit as number | undefined) ?? 1000, 1000);
  const sortBy = body.sortBy as { column?: string; order?: string } | undefined;
  const cursor = body.cursor ? decodeCursor(body.cursor as string) : undefined;
  const order = sortBy?.order ?? cursor?.order;
  const column = sortBy?.column ?? cursor?.column ?? "name";
  const delimiter = body.with_delimiter === true;
  const startAfter = cursor?.startAfter ?? "";
  const rows = await ctx.api.db.run(ctx.userScope(), (tx) => {
    if (delimiter) {
      return tx<Row[]>`
        select * from storage.search_v2(
          ${prefix}, ${bucket}, ${limit + 1}, ${prefix.split("/").length}, ${startAfter},
          ${order ?? "asc"}, ${column}, ${cursor?.after ?? ""})`;
    }
    const desc = order === "desc";
    const like = prefix.replace(/[\\%_]/g, (c) => `\\${c}`) + "%";
    return tx<Row[]>`
      select id, name, metadata, updated_at, created_at, last_accessed_at
      from storage.objects
      where bucket_id = ${bucket} and name collate "C" like ${like}
        and (${startAfter} = '' or
             case when ${desc} then name collate "C" < ${startAfter}
                  else name collate "C" > ${startAfter} end)
      order by case when ${desc} then name end collate "C" desc,
               case when not ${desc} then name end collate "C" asc
      limit ${limit + 1}`;
  }).catch((e) => {
    throw fromDbError(e);
  });
  const hasNext = rows.length > limit;
  const page = rows.slice(0, limit);
  const folders: Row[] = [];
  const objects: Row[] = [];
  for (const row of page) {
    const out: Row = delimiter ? { key: row.key, ...entry(row) } : {
      id: row.id,
      name: row.name,
      metadata: row.metadata,
      updated_at: iso(row.updated_at),
      created_at: iso(row.created_at),
      last_accessed_at: iso(row.last_accessed_at),
    };
    if (delimiter && row.id === null) {
      out.name = `${row.name}/`;
      folders.push(out);
    } else objects.push(out);
  }
  const result: Row = { hasNext };
  if (hasNext && page.length > 0) {
    const last = page[page.length - 1];
    const after = column !== "name" ? iso(last[column]) ?? undefined : undefined;
    result.nextCursor = encodeCursor({
      startAfter: String(last.name),
      order: cursor || sortBy?.order ? order : undefined,
      column: sortBy?.column ?? cursor?.column,
      after,
    });
    result.nextCursorKey = String(last.name);
  }
  result.folders = folders;
  result.objects = objects;
  return json(result);
}
