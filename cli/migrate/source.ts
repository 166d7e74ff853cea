/**
 * @module What the migration reads from: the source interface and `parseSource`,
 * which turns `s3://bucket/prefix` or a directory path into one.
 */
import type { SourceObject } from "./planner.ts";
import { CliError, EXIT, usageError } from "../lib/errors.ts";

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

/**
 * Why a source key (relative to the source root) must never be fetched, or null when it may.
 * A key with an empty, `.` or `..` segment names another object on a server that
 * normalises paths (s3rver does, and so do proxies in front of S3): it is refused in the
 * plan, never fetched.
 */
export function unsafeKeyProblem(key: string): string | null {
  for (const segment of key.split("/")) {
    if (segment === "") return "has an empty segment (a leading, trailing or double /)";
    if (segment === "." || segment === "..") return `has a "${segment}" segment`;
  }
  return null;
}

/**
 * A source object that must not be read or deleted: not the object the listing saw (a
 * file or a folder on its path was replaced, e.g. by a symlink), or a key the listing
 * refused. Never retried.
 */
export class SourceRefusal extends CliError {
  /** @param code `source_replaced`, `source_not_listed` or `unsafe_source_key` */
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { exitCode: EXIT.FAILED, ...options });
    this.name = "SourceRefusal";
  }
}

/** Parses `s3://bucket[/prefix]`; the prefix is a folder, so it gets a trailing `/`. */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m) throw usageError(`Cannot read source "${url}": expected s3://bucket[/prefix]`);
  const prefix = m[2].replace(/^\/+|\/+$/g, "");
  const problem = prefix === "" ? null : unsafeKeyProblem(prefix);
  if (problem) throw usageError(`Cannot read source "${url}": its prefix ${problem}`);
  return { bucket: m[1], prefix: prefix === "" ? "" : `${prefix}/` };
}

/** Parses `--to bucket[/prefix]` into the bucket and a folder prefix (`""` or ending in `/`). */
export function parseTarget(text: string): { bucket: string; prefix: string } {
  const [bucket, ...rest] = text.replace(/^\/+/, "").split("/");
  if (!bucket) throw usageError(`Cannot use --to "${text}": expected bucket[/prefix]`);
  const prefix = rest.join("/").replace(/^\/+|\/+$/g, "");
  return { bucket, prefix: prefix === "" ? "" : `${prefix}/` };
}
