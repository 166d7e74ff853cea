/**
 * @module The ways of listing a folder the benchmarks compare: ours
 * (`GET /objects`, keyset pages), the naive supabase-js loop (`list()` folder
 * by folder, default limit, offset paging, recursing into folders), `listV2`
 * without a delimiter, and the limit (a keyset SQL index scan as
 * `authenticated` under our RLS).
 */
import type postgres from "postgres";
import type { SupabaseClient } from "@supabase/supabase-js";
import type { Bench } from "./stack.ts";

/** What a full listing returned: how many files, and in how many calls. */
export interface Listed {
  files: number;
  calls: number;
  /** File keys, when asked for. */
  keys?: string[];
}

/** One page of `GET /objects`. */
export interface ObjectsPage {
  items: { path: string; name: string; size: number }[];
  folders: { path: string; name: string }[];
  nextCursor: string | null;
}

/** Fetches one page of our listing (`prefix` relative to the home). */
export function oursPage(
  bench: Bench,
  token: string,
  bucket: string,
  prefix: string,
  options: { recursive?: boolean; limit?: number; cursor?: string | null } = {},
): Promise<ObjectsPage> {
  const q = new URLSearchParams({ bucket, prefix, limit: String(options.limit ?? 100) });
  if (options.recursive) q.set("recursive", "true");
  if (options.cursor) q.set("cursor", options.cursor);
  return bench.call<ObjectsPage>("storage", token, "GET", `/objects?${q}`);
}

/** Every file below `prefix` through ours, recursive, pages of `limit`. */
export async function oursListAll(
  bench: Bench,
  token: string,
  bucket: string,
  prefix: string,
  limit = 1000,
): Promise<Listed> {
  let cursor: string | null = null;
  let files = 0, calls = 0;
  do {
    const page: ObjectsPage = await oursPage(bench, token, bucket, prefix, {
      recursive: true,
      limit,
      cursor,
    });
    calls++;
    files += page.items.length;
    cursor = page.nextCursor;
  } while (cursor);
  return { files, calls };
}

function fail(what: string, error: { message: string; statusCode?: string | number }): never {
  throw new Error(`${what} failed: ${error.statusCode ?? ""} ${error.message}`.trim());
}

/**
 * The naive supabase-js way: `list(folder)` with the default limit (100) and offset paging,
 * recursing into every entry whose `id` is null (a folder). `folder` is a full key without
 * the trailing slash.
 */
export async function naiveListAll(
  client: SupabaseClient,
  bucket: string,
  folder: string,
  keep = false,
): Promise<Listed> {
  const out: Listed = { files: 0, calls: 0, keys: keep ? [] : undefined };
  const walk = async (dir: string): Promise<void> => {
    for (let offset = 0;; offset += 100) {
      const { data, error } = await client.storage.from(bucket).list(dir, { limit: 100, offset });
      out.calls++;
      if (error) fail(`list("${dir}", offset ${offset})`, error);
      for (const entry of data) {
        if (entry.id === null) await walk(`${dir}/${entry.name}`);
        else {
          out.files++;
          out.keys?.push(`${dir}/${entry.name}`);
        }
      }
      if (data.length < 100) return;
    }
  };
  await walk(folder);
  return out;
}

/** `listV2` without a delimiter: a flat cursor walk over every key below `prefix` (full key). */
export async function listV2All(
  client: SupabaseClient,
  bucket: string,
  prefix: string,
): Promise<Listed> {
  let cursor: string | undefined;
  let files = 0, calls = 0;
  while (true) {
    const { data, error } = await client.storage.from(bucket).listV2({
      prefix,
      limit: 1000,
      cursor,
      with_delimiter: false,
    });
    calls++;
    if (error) fail(`listV2("${prefix}")`, error);
    files += data.objects.length;
    if (!data.hasNext) break;
    cursor = data.nextCursor;
  }
  return { files, calls };
}

/** The first key after every key that starts with `prefix` (which ends in `/`). */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/**
 * One keyset page straight in SQL as `authenticated` with the user's claims, under our RLS:
 * the `(bucket_id, name COLLATE "C")` index, no offset.
 */
export async function sqlKeysetPage(
  tx: postgres.TransactionSql,
  bucket: string,
  prefix: string,
  after: string,
  limit: number,
): Promise<{ name: string }[]> {
  return await tx<{ name: string }[]>`
    select name, metadata from storage.objects
     where bucket_id = ${bucket}
       and name collate "C" > ${after} and name collate "C" < ${prefixEnd(prefix)}
     order by name collate "C" limit ${limit}`;
}

/** Runs `fn` in one transaction as `authenticated` with `userId`'s claims (as our functions do). */
export async function asUser<T>(
  sql: postgres.Sql,
  userId: string,
  fn: (tx: postgres.TransactionSql) => Promise<T>,
): Promise<T> {
  return await sql.begin(async (tx) => {
    const claims = JSON.stringify({ sub: userId, role: "authenticated" });
    await tx`select set_config('request.jwt.claims', ${claims}, true),
                    set_config('request.jwt.claim.sub', ${userId}, true),
                    set_config('role', 'authenticated', true)`;
    return await fn(tx);
  }) as T;
}

/** Every key below `prefix` (full key, ending in `/`) by keyset SQL pages as the user. */
export async function sqlListAll(
  sql: postgres.Sql,
  userId: string,
  bucket: string,
  prefix: string,
  limit = 1000,
): Promise<Listed> {
  let after = prefix, files = 0, calls = 0;
  while (true) {
    const rows = await asUser(sql, userId, (tx) => sqlKeysetPage(tx, bucket, prefix, after, limit));
    calls++;
    files += rows.length;
    if (rows.length < limit) break;
    after = rows[rows.length - 1].name;
  }
  return { files, calls };
}
