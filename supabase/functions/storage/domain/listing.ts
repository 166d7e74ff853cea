/**
 * @module Keyset listing of a folder over `storage.objects`, run as the user
 * (RLS decides) on the `(bucket_id, name COLLATE "C")` index. One level merges
 * files and subfolders in byte order and finds folders by skip-scan: after a
 * folder `a/b` the next probe starts at `a/b0` ('0' is the byte after '/'),
 * so a page costs `limit` index probes however many objects a folder holds.
 */
import { AppError } from "../../_shared/app-error.ts";
import type { Tx } from "../../_shared/db.ts";
import { assertFolderPrefix } from "../../_shared/paths.ts";
import type { Actor } from "./actor.ts";

/** A file in a listing (paths relative to the caller's home). */
export interface ListedFile {
  path: string;
  name: string;
  size: number;
  contentType: string | null;
  updatedAt: string | null;
}

/** A folder in a one-level listing. */
export interface ListedFolder {
  path: string;
  name: string;
}

/** One page of a listing. */
export interface ListPage {
  items: ListedFile[];
  folders: ListedFolder[];
  nextCursor: string | null;
}

/** What to list: `home` is the caller's home prefix, `prefix` a home-relative folder. */
export interface ListQuery {
  bucket: string;
  home: string;
  prefix: string;
  recursive: boolean;
  limit: number;
  cursor?: string | null;
}

interface Row {
  name: string;
  metadata: Record<string, unknown> | null;
  updated_at: Date | string | null;
}

/** The largest code point: every name below a prefix sorts before prefix + this. */
const AFTER_ALL = "\u{10FFFF}";

/**
 * Lists one page of a folder of the user's home, as the user.
 * @throws AppError invalid_path (prefix), not_found (bucket), invalid_request (cursor)
 */
export async function listFolder(
  actor: Actor,
  query: Omit<ListQuery, "home">,
): Promise<ListPage> {
  assertFolderPrefix(query.prefix);
  return await actor.run(async (tx) =>
    listPage(tx, { ...query, home: await actor.home(tx, query.bucket) })
  );
}

/**
 * Lists one page. The cursor is opaque to clients: base64url of the last
 * home-relative entry (a folder's ends with `/`).
 * @throws AppError 400 invalid_request for a cursor outside the prefix
 */
export async function listPage(tx: Tx, query: ListQuery): Promise<ListPage> {
  const full = query.home + query.prefix;
  const after = query.cursor ? decodeCursor(query.cursor, query.prefix) : null;
  const lowerBound = after === null ? full : successor(query.home + after);
  const upperBound = full + AFTER_ALL;
  // The planner cannot estimate the RLS filter (`home_owner(...) = auth.uid()`: a fixed 0.5 %),
  // so for a home that holds much of the table it expects fewer matches than the page needs and
  // picks a whole-table scan plus sort (1 s per page of 1000 at 100,000 objects) over the index
  // walk in key order (10 ms). Sorting is never what a keyset page wants: turn it off for this
  // transaction only.
  await tx`select set_config('enable_sort', 'off', true)`;
  const rows = query.recursive
    ? await tx<Row[]>`
      select o.name, o.metadata, o.updated_at from storage.objects o
       where o.bucket_id = ${query.bucket}
         and o.name collate "C" >= ${lowerBound} and o.name collate "C" < ${upperBound}
       order by o.name collate "C"
       limit ${query.limit + 1}`
    : await tx<Row[]>`
      with recursive walk (n, name, metadata, updated_at) as (
        (select 1, o.name, o.metadata, o.updated_at from storage.objects o
          where o.bucket_id = ${query.bucket}
            and o.name collate "C" >= ${lowerBound} and o.name collate "C" < ${upperBound}
          order by o.name collate "C" limit 1)
        union all
        select w.n + 1, nx.name, nx.metadata, nx.updated_at
          from walk w
          cross join lateral (
            select o.name, o.metadata, o.updated_at from storage.objects o
             where o.bucket_id = ${query.bucket}
               and o.name collate "C" >= (case
                 when strpos(substr(w.name, ${full.length + 1}), '/') > 0
                 then left(w.name, ${full.length} + strpos(substr(w.name, ${
      full.length + 1
    }), '/') - 1)
                   || '0'
                 else w.name || chr(1) end)
               and o.name collate "C" < ${upperBound}
             order by o.name collate "C" limit 1
          ) nx
         where w.n <= ${query.limit}
      )
      select name, metadata, updated_at from walk limit ${query.limit + 1}`;
  return toPage(rows, query, full);
}

/**
 * Counts the objects below a folder (the `remaining` of a folder delete).
 */
export async function countBelow(tx: Tx, bucket: string, fullPrefix: string): Promise<number> {
  const [row] = await tx<{ count: string }[]>`
    select count(*) as count from storage.objects o
     where o.bucket_id = ${bucket}
       and o.name collate "C" >= ${fullPrefix} and o.name collate "C" < ${fullPrefix + AFTER_ALL}`;
  return Number(row.count);
}

function toPage(rows: Row[], query: ListQuery, full: string): ListPage {
  const page: ListPage = { items: [], folders: [], nextCursor: null };
  let last = "";
  for (const row of rows.slice(0, query.limit)) {
    const rest = row.name.slice(full.length);
    const slash = query.recursive ? -1 : rest.indexOf("/");
    if (slash >= 0) {
      const name = rest.slice(0, slash);
      last = `${query.prefix}${name}/`;
      page.folders.push({ path: last, name });
    } else {
      last = row.name.slice(query.home.length);
      page.items.push(toFile(row, last));
    }
  }
  if (rows.length > query.limit) page.nextCursor = encodeCursor(last);
  return page;
}

function toFile(row: Row, path: string): ListedFile {
  const metadata = row.metadata ?? {};
  const size = Number(metadata.size ?? metadata.contentLength ?? 0);
  const updated = row.updated_at;
  return {
    path,
    name: path.slice(path.lastIndexOf("/") + 1),
    size: Number.isFinite(size) ? size : 0,
    contentType: typeof metadata.mimetype === "string" ? metadata.mimetype : null,
    updatedAt: updated instanceof Date ? updated.toISOString() : updated ?? null,
  };
}

/** The smallest key after `entry`: past a folder's whole subtree, or just past a file. */
function successor(entry: string): string {
  return entry.endsWith("/") ? `${entry.slice(0, -1)}0` : `${entry}\u0001`;
}

/** Encodes a home-relative entry as an opaque cursor. */
export function encodeCursor(entry: string): string {
  const bytes = new TextEncoder().encode(entry);
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

/**
 * Decodes a cursor made by {@link encodeCursor} for the same prefix.
 * @throws AppError 400 invalid_request
 */
export function decodeCursor(cursor: string, prefix: string): string {
  const invalid = () =>
    new AppError("invalid_request", "Send the nextCursor of the previous page unchanged", {
      details: { field: "cursor" },
    });
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(cursor)) throw invalid();
  let entry: string;
  try {
    const binary = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    entry = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(binary, (ch) => ch.charCodeAt(0)),
    );
  } catch {
    throw invalid();
  }
  // deno-lint-ignore no-control-regex
  if (!entry.startsWith(prefix) || entry.length === prefix.length || /[\u0000]/.test(entry)) {
    throw invalid();
  }
  return entry;
}
