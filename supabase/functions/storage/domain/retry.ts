/**
 * @module Retrying a Storage-API call on transient failures (server
 * unreachable, overloaded, timing out) with exponential backoff, never past a
 * deadline. Refusals (404, 403, 400...) are not retried.
 */
import { toAppError } from "../../_shared/errors.ts";

/** Options of {@link withRetry}. */
export interface RetryOptions {
  /** Attempts in all (default 4). */
  attempts?: number;
  /** First backoff in ms, doubled each time (default 200). */
  baseDelayMs?: number;
  /** Epoch ms after which no new attempt starts. */
  deadline?: number;
}

/** True for failures worth retrying: storage or database unavailable. */
export function isTransient(error: unknown): boolean {
  const status = toAppError(error).status;
  return status === 502 || status === 503;
}

/**
 * Runs `fn`, retrying transient failures.
 * @throws the last error when attempts or time run out, or the first non-transient one
 */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 4;
  let delay = options.baseDelayMs ?? 200;
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const outOfTime = options.deadline !== undefined && Date.now() + delay >= options.deadline;
      if (attempt >= attempts || !isTransient(error) || outOfTime) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay *= 2;
    }
  }
}

/**
 * True for a Storage-API 5xx whose cause was a database conflict the server's own
 * transaction lost (`database error, code: 40P01` deadlock, `40001` serialization
 * failure): the server rolled back the transaction that lost, so an idempotent call can
 * simply be sent again. (A remove of more than 500 keys is several transactions: send at
 * most `REMOVE_CHUNK` keys per call, or the earlier ones stay committed and uncounted.)
 */
export function isStorageConflict(error: unknown): boolean {
  if (typeof error !== "object" || error === null || !("__isStorageError" in error)) {
    return false;
  }
  const e = error as { name?: string; message?: string; statusCode?: string; status?: number };
  if (e.name !== "StorageApiError") return false;
  const status = Number.parseInt(e.statusCode ?? "", 10) || e.status || 0;
  return status >= 500 && /\b(40P01|40001)\b|deadlock|could not serialize/i.test(e.message ?? "");
}

/**
 * Runs an idempotent Storage-API call, sending it again (up to `retries` more
 * times, after a short random wait) when the server answers a database conflict
 * (see {@link isStorageConflict}). Every other failure is thrown at once.
 * @example await retryStorageConflicts(() => client.storage.from(b).remove(keys))
 */
export async function retryStorageConflicts<T>(
  fn: () => Promise<T>,
  retries = 4,
): Promise<T> {
  for (let attempt = 0;; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= retries || !isStorageConflict(error)) throw error;
      const wait = Math.random() * Math.min(25 * 2 ** attempt, 400);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
