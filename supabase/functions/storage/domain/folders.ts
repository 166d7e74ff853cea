/**
 * @module Deleting everything below a folder: keyset pages of <= 1000 keys
 * (as the user), each removed through the Storage API with the user's JWT,
 * transient failures retried, stopping before a time budget. Calling again
 * continues where the folder still has objects; usage is freed by triggers.
 * What is left is counted up to {@link REMAINING_CAP} only, so a call costs
 * the same whatever the folder's size (deleting n objects in calls stays O(n)).
 */
import { AppError } from "../../_shared/app-error.ts";
import type { Db } from "../../_shared/db.ts";
import type { Actor } from "./actor.ts";
import { toAppError } from "../../_shared/errors.ts";
import { assertFolderPrefix } from "../../_shared/paths.ts";
import type { Tx } from "../../_shared/db.ts";
import { listPage } from "./listing.ts";
import type { FailedPath } from "./objects.ts";
import { withRetry } from "./retry.ts";
import { REMOVE_CHUNK, type StorageGateway } from "./storage-api.ts";

/** Outcome of one {@link deleteFolder} call. */
export interface FolderDeleteResult {
  /** Objects this call deleted. */
  deleted: number;
  /** Objects that failed after retries (at most 100 listed). */
  failed: FailedPath[];
  /**
   * Objects still below the folder after this call: exact up to {@link REMAINING_CAP}; when more
   * remain, it is REMAINING_CAP and `remainingCapped` is true.
   */
  remaining: number;
  /** Present (true) only when more than `remaining` objects remain: the count stopped there. */
  remainingCapped?: true;
  /** True when the folder is now empty. */
  done: boolean;
}

/**
 * Where counting what is left stops: a call reads at most this many + 1 index entries, so its
 * cost does not grow with the folder (an exact count made deleting a folder in calls O(n²)).
 */
export const REMAINING_CAP = 10_000;

/** Options of {@link deleteFolder}. */
export interface FolderDeleteOptions {
  bucket: string;
  prefix: string;
  confirm: boolean;
  /** Time budget of this call in ms. */
  budgetMs: number;
  /** Keys per Storage-API remove call (<= 1000). */
  batchSize?: number;
}

/**
 * Deletes the folder's objects until done or the budget is nearly spent.
 * @throws AppError invalid_request (home without confirm), invalid_path, not_found
 */
export async function deleteFolder(
  deps: { storage: StorageGateway },
  actor: Actor,
  options: FolderDeleteOptions,
): Promise<FolderDeleteResult> {
  assertFolderPrefix(options.prefix);
  if (options.prefix === "" && !options.confirm) {
    throw new AppError("invalid_request", "Send confirm: true to delete your whole home folder", {
      details: { field: "confirm" },
    });
  }
  const started = Date.now();
  const deadline = started + options.budgetMs;
  const batchSize = Math.min(options.batchSize ?? 1000, 1000);
  const inUser = <T>(fn: Parameters<Db["withUser"]>[1]) => actor.run(fn) as Promise<T>;
  const home = await inUser<string>((tx) => actor.home(tx, options.bucket));
  const token = actor.token;
  const result: FolderDeleteResult = { deleted: 0, failed: [], remaining: 0, done: false };
  let failedCount = 0;
  let cursor: string | null = null;
  let slowestBatchMs = 0;

  while (Date.now() + slowestBatchMs < deadline) {
    const batchStarted = Date.now();
    const page = await listPageOf(cursor);
    if (page.items.length === 0) break;
    // A page is removed in chunks the server deletes in one transaction each, so a chunk
    // sent again after a conflict was rolled back whole and its answer counts it all. The
    // chunks go at once: their rows are disjoint, and they share only the user's usage row.
    const chunks: (typeof page.items)[] = [];
    for (let start = 0; start < page.items.length; start += REMOVE_CHUNK) {
      chunks.push(page.items.slice(start, start + REMOVE_CHUNK));
    }
    await Promise.all(chunks.map(async (items) => {
      const keys = items.map((item) => home + item.path);
      try {
        const removed = await withRetry(() => deps.storage.remove(token, options.bucket, keys), {
          deadline,
        });
        result.deleted += removed.length;
      } catch (error) {
        const appError = toAppError(error);
        failedCount += keys.length;
        for (const item of items) {
          if (result.failed.length < 100) {
            result.failed.push({ path: item.path, code: appError.code, message: appError.message });
          }
        }
      }
    }));
    // Keyset past this page: keys that failed are not fetched again in this call.
    cursor = page.nextCursor;
    slowestBatchMs = Math.max(slowestBatchMs, Date.now() - batchStarted);
    if (!cursor) break;
  }

  const left = await inUser<number>((tx) =>
    countBelowCapped(tx, options.bucket, home + options.prefix, REMAINING_CAP + 1)
  );
  result.remaining = Math.min(left, REMAINING_CAP);
  if (left > REMAINING_CAP) result.remainingCapped = true;
  result.done = left === 0;
  if (failedCount > 0 && result.deleted === 0 && !result.done) {
    // Nothing could be deleted at all: say so with the cause's status.
    const first = result.failed[0];
    throw new AppError(
      first.code as ConstructorParameters<typeof AppError>[0],
      `Cannot delete folder "${options.prefix}": ${first.message}`,
      {
        details: {
          remaining: result.remaining,
          ...(result.remainingCapped ? { remainingCapped: true } : {}),
        },
      },
    );
  }
  return result;

  // One page of keys as the user, read in its own short transaction.
  async function listPageOf(after: string | null) {
    return await inUser<Awaited<ReturnType<typeof listPage>>>((tx) =>
      listPage(tx, {
        bucket: options.bucket,
        home,
        prefix: options.prefix,
        recursive: true,
        limit: batchSize,
        cursor: after,
      })
    );
  }
}

/** Objects whose key starts with `fullPrefix`, counted up to `cap` (as the caller: RLS applies). */
async function countBelowCapped(
  tx: Tx,
  bucket: string,
  fullPrefix: string,
  cap: number,
): Promise<number> {
  const [row] = await tx<{ count: string }[]>`
    select count(*) as count from (
      select 1 from storage.objects o
       where o.bucket_id = ${bucket}
         and o.name collate "C" >= ${fullPrefix}
         and o.name collate "C" < ${fullPrefix + "\u{10FFFF}"}
       limit ${cap}) x`;
  return Number(row.count);
}
