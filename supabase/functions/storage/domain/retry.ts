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
