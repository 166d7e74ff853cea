/**
 * @module Draining the purge queue: the files of deleted users, removed
 * through the Storage API with the service key, home by home (each a
 * {@link deleteFolder} of the whole home, so listing, batches, retries and the
 * time budget are those of `DELETE /folders`). SQL decides what may go: only a
 * queued user who no longer exists, only keys inside their homes
 * (`stowage.purge_home`); `stowage.purge_finish` removes their counters and
 * rows once nothing is left. Calling again continues; every step is idempotent,
 * so an interrupted drain loses nothing.
 */
import type { Db, Tx } from "../../_shared/db.ts";
import { toAppError } from "../../_shared/errors.ts";
import { AppError } from "../../_shared/app-error.ts";
import type { Actor } from "./actor.ts";
import { deleteFolder } from "./folders.ts";
import type { FailedPath } from "./objects.ts";
import type { StorageGateway } from "./storage-api.ts";

/** Options of {@link drainPurge}. */
export interface PurgeOptions {
  /** Time budget of this call in ms. */
  budgetMs: number;
  /** Only this queued user. */
  userId?: string | null;
  /** Keys per Storage-API remove call (<= 1000). */
  batchSize?: number;
  /** Events to prune after the drain (0: none). */
  pruneLimit?: number;
}

/** One user's progress in a drain. */
export interface PurgedUser {
  userId: string;
  /** Objects this call deleted. */
  deleted: number;
  /** Objects left in the user's homes after this call. */
  remaining: number;
  /** True when the user's files, counters and rows are all gone (and the user left the queue). */
  done: boolean;
  /** Objects that failed after retries (at most 100 listed). */
  failed: (FailedPath & { bucket: string })[];
  /** Why nothing of this user could be deleted in this call, if so. */
  error: { code: string; message: string } | null;
}

/** Outcome of one {@link drainPurge} call. */
export interface PurgeResult {
  users: PurgedUser[];
  /** Objects this call deleted, all users. */
  deleted: number;
  /** Users still queued after this call. */
  queued: number;
  /** True when the queue (or the one user asked for) is empty. */
  done: boolean;
  /** Events removed by the retention pruning this call ran. */
  prunedEvents: number;
}

/** Time kept back for the closing SQL steps of a call (at most a quarter of the budget). */
const RESERVE_MS = 250;

/** The smallest budget handed to one home's delete, so every call makes progress. */
const MIN_STEP_MS = 100;

/**
 * Works through the queue until it is empty or the budget is nearly spent.
 * @param serviceToken the service key, sent to the Storage API
 * @throws AppError not_found (userId not queued); the first error when nothing could be deleted
 */
export async function drainPurge(
  deps: { db: Db; storage: StorageGateway },
  serviceToken: string,
  options: PurgeOptions,
): Promise<PurgeResult> {
  const deadline = Date.now() + options.budgetMs;
  const reserve = Math.min(RESERVE_MS, options.budgetMs / 4);
  const service = <T>(fn: (tx: Tx) => Promise<T>) => deps.db.withService(fn);
  const claimed = await service((tx) =>
    tx<{ user_id: string }[]>`
      select user_id from stowage.purge_claim(${options.userId ?? null}::uuid, 100)`
  );
  const buckets = await service((tx) =>
    tx<{ bucket_id: string }[]>`select bucket_id from stowage.bucket_homes order by bucket_id`
  );
  const result: PurgeResult = { users: [], deleted: 0, queued: 0, done: false, prunedEvents: 0 };
  let firstError: unknown = null;

  for (const { user_id: userId } of claimed) {
    if (result.users.length > 0 && Date.now() + reserve >= deadline) break;
    const user: PurgedUser = {
      userId,
      deleted: 0,
      remaining: 0,
      done: false,
      failed: [],
      error: null,
    };
    result.users.push(user);
    const actor: Actor = {
      token: serviceToken,
      run: service,
      home: (tx, bucket) => purgeHome(tx, bucket, userId),
    };
    try {
      for (const [index, { bucket_id: bucket }] of buckets.entries()) {
        const left = deadline - reserve - Date.now();
        if (left <= 0 && (index > 0 || result.users.length > 1)) break;
        const step = await deleteFolder(deps, actor, {
          bucket,
          prefix: "",
          confirm: true,
          budgetMs: Math.max(left, MIN_STEP_MS),
          batchSize: options.batchSize,
        });
        user.deleted += step.deleted;
        for (const failure of step.failed) {
          if (user.failed.length < 100) user.failed.push({ ...failure, bucket });
        }
      }
    } catch (error) {
      firstError ??= error;
      const appError = toAppError(error);
      user.error = { code: appError.code, message: appError.message };
      console.error(`Cannot purge the files of user "${userId}"`, appError.message);
    }
    const [{ left }] = await service((tx) =>
      tx<{ left: string }[]>`select stowage.purge_finish(${userId}::uuid) as left`
    );
    user.remaining = Number(left);
    user.done = user.remaining === 0;
    result.deleted += user.deleted;
  }

  if (firstError && result.deleted === 0 && !result.users.some((u) => u.done)) throw firstError;
  const pruneLimit = options.pruneLimit ?? 0;
  if (pruneLimit > 0 && Date.now() < deadline) {
    const [{ pruned }] = await service((tx) =>
      tx<{ pruned: string }[]>`select stowage.prune_events(${pruneLimit}) as pruned`
    );
    result.prunedEvents = Number(pruned);
  }
  const [{ queued }] = await service((tx) =>
    options.userId
      ? tx<{ queued: string }[]>`
        select count(*) as queued from stowage.purge_queue where user_id = ${options.userId}`
      : tx<{ queued: string }[]>`select count(*) as queued from stowage.purge_queue`
  );
  result.queued = Number(queued);
  result.done = result.queued === 0;
  return result;
}

/**
 * Queues the homes whose user is gone but whose files are still there (users deleted
 * before Stowage was installed). Returns how many users were queued.
 */
export async function queueOrphanedHomes(db: Db): Promise<number> {
  const [{ queued }] = await db.withService((tx) =>
    tx<{ queued: number }[]>`select stowage.queue_orphaned_homes() as queued`
  );
  return Number(queued);
}

async function purgeHome(tx: Tx, bucket: string, userId: string): Promise<string> {
  const [row] = await tx<{ prefix: string | null }[]>`
    select stowage.purge_home(${bucket}, ${userId}::uuid) as prefix`;
  if (!row?.prefix) {
    throw new AppError("not_found", `Cannot find bucket "${bucket}": it is not a Stowage bucket`);
  }
  return row.prefix;
}
