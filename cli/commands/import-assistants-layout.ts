/**
 * @module Where `stowage import-assistants` reads the LMS's old files from: a local copy
 * of the bucket, or the bucket itself (listed through `storage.objects` in one query,
 * read through the Storage API with the service-role key).
 */
import type postgres from "postgres";
import { storageAuthHeaders } from "../lib/connection.ts";
import { CliError } from "../lib/errors.ts";
import { encodeKey, storageErrorFrom } from "../migrate/storage-api.ts";

/** The reverse mapping's key in the LMS bucket. */
export const MAPPING_KEY = "user_data/assistant_reverse_mapping.json";
/** The per-course position file's name. */
export const POSITION_FILE = "assistant_position.json";
/** A position file's key as a Postgres regular expression (the dot escaped). */
const POSITION_KEY_PATTERN = `^user_data/[^/]+/[^/]+/${POSITION_FILE.replaceAll(".", "\\.")}$`;

/** Where the old files are read from (keys relative to the bucket root). */
export interface OldLayout {
  readonly description: string;
  /** The text of a file, or null when it does not exist. */
  read(key: string): Promise<string | null>;
  /** Keys of every `user_data/<owner>/<course>/assistant_position.json`. */
  positionKeys(): Promise<string[]>;
}

/** A local folder holding `user_data/`. @throws CliError source_unavailable */
export async function localLayout(root: string): Promise<OldLayout> {
  const base = root.replace(/\/+$/, "");
  try {
    if (!(await Deno.stat(`${base}/user_data`)).isDirectory) throw new Error("not a directory");
  } catch (error) {
    throw new CliError("source_unavailable", `Cannot find folder "user_data/" in "${base}"`, {
      cause: error,
    });
  }
  // Only a missing file is "not there": any other error (permissions, I/O, a symlink
  // loop) stops the run with its cause rather than silently leaving files out.
  const unreadable = (path: string, error: unknown) =>
    new CliError("source_unavailable", `Cannot read "${path}"`, { cause: error });
  const dirs = async (path: string) => {
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(path)) if (e.isDirectory) names.push(e.name);
    } catch (error) {
      throw unreadable(path, error);
    }
    return names.sort();
  };
  const isFile = async (path: string) => {
    try {
      return (await Deno.stat(path)).isFile;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw unreadable(path, error);
    }
  };
  return {
    description: base,
    async read(key) {
      try {
        return await Deno.readTextFile(`${base}/${key}`);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return null;
        throw unreadable(`${base}/${key}`, error);
      }
    },
    async positionKeys() {
      const keys: string[] = [];
      for (const owner of await dirs(`${base}/user_data`)) {
        for (const course of await dirs(`${base}/user_data/${owner}`)) {
          const key = `user_data/${owner}/${course}/${POSITION_FILE}`;
          if (await isFile(`${base}/${key}`)) keys.push(key);
        }
      }
      return keys;
    },
  };
}

/**
 * A Storage bucket: listed through `storage.objects` (one query), read through the Storage API.
 * @throws CliError bucket_not_found (a misspelt bucket must not look like an empty old layout)
 */
export async function bucketLayout(
  url: string,
  secretKey: string,
  sql: postgres.Sql,
  bucket: string,
): Promise<OldLayout> {
  const found = await sql`select 1 from storage.buckets where id = ${bucket}`;
  if (found.length === 0) {
    throw new CliError("bucket_not_found", `Cannot read bucket "${bucket}": it does not exist`);
  }
  const base = `${url.replace(/\/+$/, "")}/storage/v1/object/${encodeURIComponent(bucket)}`;
  return {
    description: `bucket "${bucket}"`,
    async read(key) {
      let res: Response;
      try {
        res = await fetch(`${base}/${encodeKey(key)}`, {
          headers: storageAuthHeaders(secretKey),
        });
      } catch (error) {
        throw new CliError("source_unavailable", `Cannot read "${key}" from ${bucket}`, {
          cause: error,
        });
      }
      if (res.ok) return await res.text();
      const error = storageErrorFrom(res.status, await res.text(), `read "${key}"`);
      if (error.status === 404) return null;
      throw new CliError("source_unavailable", error.message, { cause: error });
    },
    async positionKeys() {
      const rows = await sql`select name from storage.objects where bucket_id = ${bucket}
        and starts_with(name, 'user_data/') and name ~ ${POSITION_KEY_PATTERN}
        order by name collate "C"`;
      return rows.map((r) => r.name as string);
    },
  };
}
