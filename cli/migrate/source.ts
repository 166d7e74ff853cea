/**
 * @module What the migration reads from: the source interface and `parseSource`,
 * which turns `s3://bucket/prefix` or a directory path into one.
 */
import type { SourceObject } from "./planner.ts";
import { usageError } from "../lib/errors.ts";

/** A place objects are migrated from. */
export interface Source {
  /** `s3://bucket/prefix/` or the absolute directory path. */
  readonly description: string;
  /** Whether `--delete-after` may delete from it (local directories only). */
  readonly deletable: boolean;
  /**
   * Every object below the root, keys relative to it. `contentTypes`: also fetch each
   * object's own type when that costs a request (S3 HEAD); needed when the bucket restricts types.
   */
  list(options?: { contentTypes?: boolean }): AsyncIterable<SourceObject>;
  /** The object's bytes as a stream, and its own content type when the source has one. */
  open(key: string): Promise<OpenedObject>;
  /** Deletes the object (only when `deletable`). */
  remove(key: string): Promise<void>;
  /** Releases connections. */
  close(): void;
}

/** An opened source object. */
export interface OpenedObject {
  body: ReadableStream<Uint8Array>;
  contentType?: string;
}

/** A parsed `s3://` location. */
export interface S3Location {
  bucket: string;
  /** `""` or ending in `/`. */
  prefix: string;
}

/** Parses `s3://bucket[/prefix]`; the prefix is a folder, so it gets a trailing `/`. */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m) throw usageError(`Cannot read source "${url}": expected s3://bucket[/prefix]`);
  const prefix = m[2].replace(/^\/+|\/+$/g, "");
  return { bucket: m[1], prefix: prefix === "" ? "" : `${prefix}/` };
}

/** Parses `--to bucket[/prefix]` into the bucket and a folder prefix (`""` or ending in `/`). */
export function parseTarget(text: string): { bucket: string; prefix: string } {
  const [bucket, ...rest] = text.replace(/^\/+/, "").split("/");
  if (!bucket) throw usageError(`Cannot use --to "${text}": expected bucket[/prefix]`);
  const prefix = rest.join("/").replace(/^\/+|\/+$/g, "");
  return { bucket, prefix: prefix === "" ? "" : `${prefix}/` };
}
