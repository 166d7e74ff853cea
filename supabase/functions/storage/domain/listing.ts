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

/** The last entry of a page: a file (any key, even one ending in `/`) or a one-level folder. */
export interface CursorEntry {
  /** Home-relative: the file's path, or the folder's path with its trailing `/`. */
  entry: string;
  kind: "file" | "folder";
}

/**
 * Lists one page. The cursor is opaque to clients: base64url of the last
 * home-relative entry and whether it was a file or a folder (a key such as
 * `d/`, which the service role can make, is a file although it ends in `/`).
 * @throws AppError 400 invalid_request for a cursor outside the prefix
 */
export async function listPage(tx: Tx, query: ListQuery): Promise<ListPage> {
  const full = query.home + query.prefix;
  const after = query.cursor ? decodeCursor(query.cursor, query.prefix) : null;
  const lowerBound = after === null
    ? full
    : successor({ entry: query.home + after.entry, kind: after.kind });
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
  let last: CursorEntry = { entry: "", kind: "file" };
  for (const row of rows.slice(0, query.limit)) {
    const rest = row.name.slice(full.length);
    const slash = query.recursive ? -1 : rest.indexOf("/");
    if (slash >= 0) {
      const name = rest.slice(0, slash);
      last = { entry: `${query.prefix}${name}/`, kind: "folder" };
      page.folders.push({ path: last.entry, name });
    } else {
      last = { entry: row.name.slice(query.home.length), kind: "file" };
      page.items.push(toFile(row, last.entry));
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

/**
 * The smallest key after an entry: past a folder's whole subtree (`a/b/` -> `a/b0`,
 * '0' being the byte after '/'), or just past a file (`k` -> `k\u0001`: keys never hold
 * NUL), whatever the file's name ends with.
 */
function successor({ entry, kind }: CursorEntry): string {
  return kind === "folder" ? `${entry.slice(0, -1)}0` : `${entry}\u0001`;
}

/** Separates the kind from the entry inside a cursor (NUL never occurs in a key). */
const KIND_MARK = "\u0000";

/**
 * Encodes a home-relative entry as an opaque cursor. A bare string is a file
 * unless it ends in `/` (a one-level folder): pass a {@link CursorEntry} to say which.
 */
export function encodeCursor(last: string | CursorEntry): string {
  const { entry, kind } = typeof last === "string"
    ? { entry: last, kind: last.endsWith("/") ? "folder" : "file" }
    : last;
  const bytes = new TextEncoder().encode(`${kind === "folder" ? "d" : "f"}${KIND_MARK}${entry}`);
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

/**
 * Decodes a cursor made by {@link encodeCursor} for the same prefix. Cursors of
 * earlier versions (the bare entry, no kind) still decode: a trailing `/` meant a folder.
 * @throws AppError 400 invalid_request
 */
export function decodeCursor(cursor: string, prefix: string): CursorEntry {
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
  let kind: CursorEntry["kind"];
  if (entry.length >= 2 && entry[1] === KIND_MARK && (entry[0] === "d" || entry[0] === "f")) {
    kind = entry[0] === "d" ? "folder" : "file";
    entry = entry.slice(2);
  } else {
    kind = entry.endsWith("/") ? "folder" : "file";
  }
  if (!entry.startsWith(prefix) || entry.includes(KIND_MARK)) throw invalid();
  // A file may be the prefix itself (a key `x/` made by the service role); a folder is below it.
  if (kind === "folder" && (entry.length === prefix.length || !entry.endsWith("/"))) {
    throw invalid();
  }
  return { entry, kind };
}
