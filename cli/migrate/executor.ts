/**
 * @module Runs a decided plan: streams each copy, retries transient failures with
 * backoff, verifies every copy (size + MD5 from the stored eTag; SHA-256 read back
 * with `--verify full`), journals it, and deletes verified local sources with
 * `--delete-after`.
 */
import { createHash } from "node:crypto";
import type { PlanItem } from "./planner.ts";
import { type Source, SourceRefusal } from "./source.ts";
import type { Journal } from "./journal.ts";
import type { StoredObject } from "./database.ts";
import { type StorageApi, StorageError } from "./storage-api.ts";
import { mapPool } from "./pool.ts";
import { CliError } from "../lib/errors.ts";
import { chooseContentType } from "./mime.ts";
import type { Progress } from "./progress.ts";

/** How to run. */
export interface ExecuteOptions {
  bucket: string;
  concurrency: number;
  /** Extra attempts after the first for a transient failure. */
  retries: number;
  verify: "etag" | "full";
  deleteAfter: boolean;
  /** Base backoff in ms (doubles per attempt, with jitter). */
  backoffMs?: number;
  /** Files above this many bytes go resumably (TUS, 6 MiB chunks); null: every file in one request. */
  resumableAbove?: number | null;
}

/** What the executor needs from the outside world. */
export interface ExecuteDeps {
  source: Source;
  api: StorageApi;
  /** Reads the stored object's metadata (size, eTag). */
  stored: (bucket: string, name: string) => Promise<StoredObject | null>;
  journal: Journal;
  progress?: Progress;
}

/** One copied object. */
export interface CopiedEntry {
  source: string;
  target: string;
  size: number;
  md5: string;
  renamed: boolean;
  /** How the bytes went: one streamed request, or TUS chunks (resumable). */
  via: "put" | "tus";
  /** For a TUS upload that continued an earlier, interrupted one: the bytes not sent again. */
  resumedAt?: number;
}

/** One failed object. */
export interface FailedEntry {
  source: string;
  target: string;
  code: string;
  message: string;
  attempts: number;
}

/** The outcome of {@link execute}. */
export interface ExecuteResult {
  copied: CopiedEntry[];
  failed: FailedEntry[];
  deleted: string[];
  bytesCopied: number;
}

class VerifyError extends StorageError {
  constructor(message: string) {
    super("verify_failed", 0, message, true);
  }
}

/** Copies every `copy`/`rename` item; deletes sources of verified items with `deleteAfter`. */
export async function execute(
  items: PlanItem[],
  opts: ExecuteOptions,
  deps: ExecuteDeps,
): Promise<ExecuteResult> {
  const result: ExecuteResult = { copied: [], failed: [], deleted: [], bytesCopied: 0 };
  const work = items.filter((i) => i.action === "copy" || i.action === "rename");
  await mapPool(work, opts.concurrency, async (item) => {
    const outcome = await copyWithRetries(item, opts, deps);
    deps.progress?.object(!("code" in outcome));
    if ("code" in outcome) {
      result.failed.push(outcome);
      await deps.journal.append({
        op: "failed",
        source: item.source,
        target: item.target,
        code: outcome.code,
        message: outcome.message,
        at: now(),
      });
      return;
    }
    result.copied.push(outcome);
    result.bytesCopied += item.size;
    if (opts.deleteAfter) await deleteSource(item, deps, result);
  });
  if (opts.deleteAfter) {
    // Already present with the same size and MD5: as verified as a fresh copy.
    const present = items.filter((i) =>
      i.action === "skip" && i.reason?.code === "already_present"
    );
    await mapPool(present, opts.concurrency, (item) => deleteSource(item, deps, result));
  }
  return result;
}

async function deleteSource(
  item: PlanItem,
  deps: ExecuteDeps,
  result: ExecuteResult,
): Promise<void> {
  try {
    await deps.source.remove(item.source);
    result.deleted.push(item.source);
    await deps.journal.append({ op: "deleted", source: item.source, at: now() });
  } catch (error) {
    result.failed.push({
      source: item.source,
      target: item.target,
      code: error instanceof SourceRefusal ? error.code : "delete_failed",
      message: error instanceof SourceRefusal
        ? error.message
        : `Cannot delete source: ${String(error)}`,
      attempts: 1,
    });
  }
}

async function copyWithRetries(
  item: PlanItem,
  opts: ExecuteOptions,
  deps: ExecuteDeps,
): Promise<CopiedEntry | FailedEntry> {
  let attempt = 0;
  let lastError: unknown;
  let wroteCorrupt = false;
  while (attempt <= opts.retries) {
    attempt++;
    try {
      // A retry after our own upload may find our (committed or corrupt) object: overwrite it.
      const upsert = item.overwrite === true || wroteCorrupt;
      const entry = await copyOnce(item, opts, deps, upsert);
      await deps.journal.append({
        op: "copied",
        source: item.source,
        stamp: item.stamp,
        size: item.size,
        target: item.target,
        md5: entry.md5,
        verify: opts.verify,
        at: now(),
      });
      return entry;
    } catch (error) {
      lastError = error;
      if (error instanceof VerifyError) wroteCorrupt = true;
      if (!isTransient(error) || attempt > opts.retries) break;
      const base = (opts.backoffMs ?? 250) * 2 ** (attempt - 1);
      await new Promise((r) => setTimeout(r, Math.min(base + Math.random() * base, 10_000)));
    }
  }
  const code = lastError instanceof StorageError || lastError instanceof CliError
    ? lastError.code
    : "copy_failed";
  let message = lastError instanceof Error ? lastError.message : String(lastError);
  if (wroteCorrupt) {
    // Never leave a copy that failed verification where users would read it.
    try {
      await deps.api.remove(opts.bucket, [item.target]);
      message += "; the bad copy was removed";
    } catch (error) {
      message += `; the bad copy could NOT be removed: ${String(error)}`;
    }
  }
  return { source: item.source, target: item.target, code, message, attempts: attempt };
}

async function copyOnce(
  item: PlanItem,
  opts: ExecuteOptions,
  deps: ExecuteDeps,
  upsert: boolean,
): Promise<CopiedEntry> {
  const opened = await deps.source.open(item.source);
  // The plan knows the type when the listing had it; otherwise the source's own type
  // (S3 GET) wins over the extension's, as the plan promised ("typeFromSource").
  const contentType = item.typeFromSource === false
    ? chooseContentType(item.source, opened.contentType)
    : item.contentType;
  let sent;
  const via = opts.resumableAbove != null && item.size > opts.resumableAbove ? "tus" : "put";
  let resumedAt: number | undefined;
  const common = {
    size: item.size,
    contentType,
    upsert,
    sha256: opts.verify === "full",
    onBytes: (n: number) => deps.progress?.bytes(n),
  };
  try {
    sent = via === "tus"
      ? await deps.api.uploadResumable(opts.bucket, item.target, opened.body, {
        ...common,
        // This source version to this target: another version never continues its bytes.
        fingerprint: [opts.bucket, item.target, item.source, item.stamp, item.size, upsert].join(
          "\n",
        ),
        onResume: (offset) => resumedAt = offset,
      })
      : await deps.api.upload(opts.bucket, item.target, opened.body, common);
  } catch (error) {
    // An earlier attempt (or a killed run) may have committed this very object.
    if (error instanceof StorageError && error.code === "KeyAlreadyExists") {
      const stored = await deps.stored(opts.bucket, item.target);
      const md5 = stored && stored.size === item.size
        ? await sameContent(item, stored, opts, deps)
        : null;
      if (md5 !== null) {
        return {
          source: item.source,
          target: item.target,
          size: item.size,
          md5,
          renamed: item.action === "rename",
          via,
        };
      }
    }
    throw error;
  }
  if (item.md5 && item.md5 !== sent.md5) {
    throw new StorageError(
      "source_changed",
      0,
      `Source MD5 ${sent.md5} differs from the planned ${item.md5}: run the plan again`,
      false,
    );
  }
  const stored = await deps.stored(opts.bucket, item.target);
  if (!stored) throw new VerifyError(`Verify failed: "${item.target}" is missing after upload`);
  if (stored.size !== item.size) {
    throw new VerifyError(`Verify failed: stored size ${stored.size}, sent ${item.size}`);
  }
  if (stored.md5 !== null && stored.md5 !== sent.md5) {
    throw new VerifyError(`Verify failed: stored MD5 ${stored.md5}, sent ${sent.md5}`);
  }
  if (stored.md5 === null && opts.verify !== "full") {
    // The eTag is no plain MD5 (an S3 backend's multipart tag): size alone verifies
    // nothing, and --delete-after trusts this. Read the copy back and hash it.
    const readBack = await deps.api.digest(opts.bucket, item.target, "md5");
    if (readBack !== sent.md5) {
      throw new VerifyError(`Verify failed: read-back MD5 ${readBack}, sent ${sent.md5}`);
    }
  }
  if (opts.verify === "full") {
    const readBack = await deps.api.sha256(opts.bucket, item.target);
    if (readBack !== sent.sha256) {
      throw new VerifyError(`Verify failed: read-back SHA-256 ${readBack}, sent ${sent.sha256}`);
    }
  }
  return {
    source: item.source,
    target: item.target,
    size: item.size,
    md5: sent.md5,
    renamed: item.action === "rename",
    via,
    ...(resumedAt === undefined ? {} : { resumedAt }),
  };
}

/**
 * Whether trying again may succeed. Storage errors say so themselves; a source file that
 * is gone, unreadable or not the one listed, or an S3 4xx other than 408/429 (NoSuchKey, AccessDenied), will
 * fail the same way every time; anything else (network, 5xx) is worth another attempt.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof StorageError) return error.transient;
  // Not the listed object (replaced, unsafe key): it will not become it again.
  if (error instanceof SourceRefusal) return false;
  if (
    error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied ||
    error instanceof Deno.errors.IsADirectory || error instanceof Deno.errors.NotADirectory
  ) {
    return false;
  }
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== undefined) {
      return !(status >= 400 && status < 500 && status !== 408 && status !== 429);
    }
  }
  return true;
}

/**
 * Whether the stored object (same size) holds the source's bytes, verified as strictly as a
 * fresh copy: MD5 against the eTag, and a read-back when the eTag is no MD5 or with
 * `--verify full` (SHA-256). Returns the source MD5 when it does, else null.
 */
async function sameContent(
  item: PlanItem,
  stored: StoredObject,
  opts: ExecuteOptions,
  deps: ExecuteDeps,
): Promise<string | null> {
  const readBack = opts.verify === "full" || stored.md5 === null;
  if (!readBack && item.md5) return stored.md5 === item.md5 ? item.md5 : null;
  const md5 = createHash("md5");
  const sha = createHash("sha256");
  for await (const chunk of (await deps.source.open(item.source)).body) {
    md5.update(chunk);
    if (readBack) sha.update(chunk);
  }
  const sourceMd5 = md5.digest("hex");
  if (stored.md5 !== null && stored.md5 !== sourceMd5) return null;
  if (readBack && await deps.api.digest(opts.bucket, item.target, "sha256") !== sha.digest("hex")) {
    return null;
  }
  return sourceMd5;
}

/** MD5 of a source object, read in full. */
export async function sourceMd5(item: { source: string }, source: Source): Promise<string> {
  const hash = createHash("md5");
  for await (const chunk of (await source.open(item.source)).body) hash.update(chunk);
  return hash.digest("hex");
}

function now(): string {
  return new Date().toISOString();
}
