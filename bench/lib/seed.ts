/**
 * @module Seeding for the benchmarks: object rows written straight into
 * `storage.objects` as the superuser where only rows matter (listing,
 * signing, deleting), reservations for bare signed uploads, and the nested
 * folder layouts the scenarios use.
 */
import type postgres from "postgres";

/** The bucket every scenario uses (the LMS seed app's). */
export const BUCKET = "anantra-lms-store";

/** A second managed bucket (home `{uid}/`), for runs that need a bucket of their own. */
export const OTHER_BUCKET = "codebegen-projects";

/** The key prefix of a user's home in {@link BUCKET} (or in {@link OTHER_BUCKET}). */
export function home(userId: string, bucket = BUCKET): string {
  return bucket === OTHER_BUCKET ? `${userId}/` : `user_data/${userId}/`;
}

/**
 * Relative paths of `folders` leaf folders with `perFolder` files each, nested two deep under
 * `top` top folders (`d03/s017/f00042.json`), as a course tree of the LMS would be.
 * @example nestedPaths(2, 2, 1) // ["d00/s000/f00000.json", "d00/s001/f00000.json", ...]
 */
export function nestedPaths(top: number, perTop: number, perFolder: number): string[] {
  const paths: string[] = [];
  for (let t = 0; t < top; t++) {
    for (let s = 0; s < perTop; s++) {
      for (let f = 0; f < perFolder; f++) {
        paths.push(
          `d${String(t).padStart(2, "0")}/s${String(s).padStart(3, "0")}/f${
            String(f).padStart(5, "0")
          }.json`,
        );
      }
    }
  }
  return paths;
}

/** `count` files directly in `folder` (`folder/f00000.json`...). */
export function flatPaths(folder: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${folder}/f${String(i).padStart(5, "0")}.json`);
}

/**
 * Inserts object rows (no bytes) for `names` (full keys) in chunks of 5,000, with the metadata
 * the Storage server writes, then analyzes the table. The row triggers count them into the
 * owner's usage.
 */
export async function insertObjects(
  sql: postgres.Sql,
  bucket: string,
  names: readonly string[],
  options: { size?: number; mimetype?: string } = {},
): Promise<void> {
  const size = options.size ?? 100;
  const mimetype = options.mimetype ?? "application/json";
  for (let i = 0; i < names.length; i += 5000) {
    const chunk = names.slice(i, i + 5000) as string[];
    await sql`
      insert into storage.objects (bucket_id, name, metadata, version)
      select ${bucket}, n,
             jsonb_build_object('eTag', '"bench"', 'size', ${size}::bigint,
               'mimetype', ${mimetype}::text, 'cacheControl', 'max-age=3600',
               'lastModified', now(), 'contentLength', ${size}::bigint, 'httpStatusCode', 200),
             gen_random_uuid()::text
        from unnest(${chunk}::text[]) as n`;
  }
  // Fresh statistics, as a table in service has: right after a bulk insert the planner still
  // sees the old row counts, and listing pages took ~1 s each until autoanalyze ran.
  await sql`analyze storage.objects`;
}

/** Deletes every object row under `prefix` (rows only: for rows the seed wrote). */
export async function deleteObjectRows(
  sql: postgres.Sql,
  bucket: string,
  prefix: string,
): Promise<number> {
  return await sql.begin(async (tx) => {
    await tx`set local storage.allow_delete_query = 'true'`;
    const res = await tx`delete from storage.objects
                          where bucket_id = ${bucket} and starts_with(name, ${prefix})`;
    return res.count;
  });
}

/** Counts the object rows under `prefix`. */
export async function countObjects(
  sql: postgres.Sql,
  bucket: string,
  prefix: string,
): Promise<number> {
  const [row] = await sql`select count(*)::int as n from storage.objects
                          where bucket_id = ${bucket} and starts_with(name, ${prefix})`;
  return row.n;
}

/**
 * Records live reservations for `names` (full keys) of `userId`, as `POST /uploads` would,
 * so that a bare `createSignedUploadUrl` as the user passes our insert policy.
 */
export async function reserveRows(
  sql: postgres.Sql,
  userId: string,
  bucket: string,
  names: readonly string[],
  options: { size?: number; contentType?: string } = {},
): Promise<void> {
  await sql`
    insert into stowage.reservations (user_id, bucket_id, name, size, content_type, live_until)
    select ${userId}::uuid, ${bucket}, n, ${options.size ?? 100}::bigint,
           ${options.contentType ?? "application/json"}, now() + interval '3 hours'
      from unnest(${names as string[]}::text[]) as n
    on conflict (bucket_id, name) do update set live_until = excluded.live_until`;
}
