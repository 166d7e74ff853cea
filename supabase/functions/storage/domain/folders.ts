/**
 * @module Deleting everything below a folder: keyset pages of <= 1000 keys
 * (as the user), each removed through the Storage API with the user's JWT,
 * transient failures retried, stopping before a time budget. Calling again
 * continues where the folder still has objects; usage is freed by triggers.
 */
import { AppError } from "../../_shared/app-error.ts";
import type { Db } from "../../_shared/db.ts";
import type { Actor } from "./actor.ts";
import { toAppError } from "../../_shared/errors.ts";
import { assertFolderPrefix } from "../../_shared/paths.ts";
import { countBelow, listPage } from "./listing.ts";
import type { FailedPath } from "./objects.ts";
import { withRetry } from "./retry.ts";
import type { StorageGateway } from "./storage-api.ts";

/** Outcome of one {@link deleteFolder} call. */
export interface FolderDeleteResult {
  /** Objects this call deleted. */
  deleted: number;
  /** Objects that failed after retries (at most 100 listed). */
  failed: FailedPath[];
  /** Objects still below the folder after this call. */
  remaining: number;
  /** True when the folder is now empty. */
  done: boolean;
}

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
    const keys = page.items.map((item) => home + item.path);
    try {
      const removed = await withRetry(() => deps.storage.remove(token, options.bucket, keys), {
        deadline,
      });
      result.deleted += removed.length;
    } catch (error) {
      const appError = toAppError(error);
      failedCount += keys.length;
      for (const item of page.items) {
        if (result.failed.length < 100) {
          result.failed.push({ path: item.path, code: appError.code, message: appError.message });
        }
      }
    }
    // Keyset past this page: keys that failed are not fetched again in this call.
    cursor = page.nextCursor;
    slowestBatchMs = Math.max(slowestBatchMs, Date.now() - batchStarted);
    if (!cursor) break;
  }

  result.remaining = await inUser<number>((tx) =>
    countBelow(tx, options.bucket, home + options.prefix)
  );
  result.done = result.remaining === 0;
  if (failedCount > 0 && result.deleted === 0 && !result.done) {
    // Nothing could be deleted at all: say so with the cause's status.
    const first = result.failed[0];
    throw new AppError(
      first.code as ConstructorParameters<typeof AppError>[0],
      `Cannot delete folder "${options.prefix}": ${first.message}`,
      { details: { remaining: result.remaining } },
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
