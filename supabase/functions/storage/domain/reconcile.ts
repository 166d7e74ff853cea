/**
 * @module The paged reconcile over all users (`stowage.reconcile_page`):
 * users in id order from a cursor, each checked with one indexed read of
 * their homes and, when their counters drifted, recomputed under their usage
 * lock. One call runs short transactions (so a user's lock is never held for
 * long) until its time budget is spent or every user was seen, and returns
 * the cursor to continue from. Used by `POST /admin/reconcile` and
 * `stowage reconcile`.
 */
import type { Db } from "../../_shared/db.ts";
import type { ReconcileRow } from "./quota.ts";

/** Options of {@link reconcilePages}. */
export interface ReconcilePagesOptions {
  /** Continue after this user id (the `cursor` a previous call returned); null: from the start. */
  cursor: string | null;
  /** Time budget of this call in ms. */
  budgetMs: number;
  /** Longest single transaction in ms (default 500): how long a drifted user's lock may be held. */
  stepMs?: number;
  /** Users per transaction at most (default 1000). */
  stepUsers?: number;
  /** Users checked by this call at most (default: no limit but the budget). */
  maxUsers?: number | null;
}

/** Outcome of one {@link reconcilePages} call. */
export interface ReconcilePagesResult {
  /** Users whose counters were fixed (or whose expired reservations were dropped). */
  users: ReconcileRow[];
  /** Users checked by this call. */
  checked: number;
  /** Where to continue (pass it back as `cursor`); null when done. */
  cursor: string | null;
  /** True when every user has been checked. */
  done: boolean;
}

/** Runs pages until done, the budget is spent or maxUsers were checked (always one page). */
export async function reconcilePages(
  db: Db,
  options: ReconcilePagesOptions,
): Promise<ReconcilePagesResult> {
  const deadline = Date.now() + options.budgetMs;
  const stepMs = options.stepMs ?? 500;
  const result: ReconcilePagesResult = {
    users: [],
    checked: 0,
    cursor: options.cursor,
    done: false,
  };
  const maxUsers = options.maxUsers ?? Infinity;
  do {
    const budget = Math.max(1, Math.min(stepMs, deadline - Date.now()));
    const limit = Math.min(options.stepUsers ?? 1000, maxUsers - result.checked);
    const [page] = await db.withService((tx) =>
      tx<{ users: ReconcileRow[]; checked: number; next_cursor: string | null; done: boolean }[]>`
        select users, checked, next_cursor, done
          from stowage.reconcile_page(${result.cursor}::uuid, ${budget}::integer,
            ${limit}::integer)`
    );
    result.users.push(...page.users.map(toRow));
    result.checked += page.checked;
    result.cursor = page.next_cursor;
    result.done = page.done;
  } while (!result.done && Date.now() < deadline && result.checked < maxUsers);
  return result;
}

function toRow(r: ReconcileRow): ReconcileRow {
  return {
    userId: String(r.userId),
    bytesBefore: Number(r.bytesBefore),
    bytesAfter: Number(r.bytesAfter),
    objectsBefore: Number(r.objectsBefore),
    objectsAfter: Number(r.objectsAfter),
    droppedReservations: Number(r.droppedReservations),
  };
}
