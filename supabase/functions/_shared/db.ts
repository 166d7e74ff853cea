/**
 * @module Database access of the functions: one small `postgres` pool per
 * isolate and the two ways to use it. {@link Db.withUser} runs one
 * transaction as `authenticated` with the caller's claims (RLS decides);
 * {@link Db.withService} runs one as `service_role`. This is the only module
 * that imports the driver and the only call site that sets request claims.
 */
import postgres from "postgres";
import type { UserClaims } from "./auth.ts";

/** A transaction handle: tagged-template SQL bound to one connection. */
export type Tx = postgres.ReservedSql | postgres.TransactionSql;

/** Database access as the caller or as the service role. */
export interface Db {
  /**
   * Runs `fn` in one transaction as role `authenticated`, with `request.jwt.claims`,
   * `request.jwt.claim.sub` and `request.jwt.claim.role` set transaction-locally.
   */
  withUser<T>(claims: UserClaims, fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Runs `fn` in one transaction as `service_role` with claims `{"role":"service_role"}`. */
  withService<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Checks the database answers (for /health). */
  ping(): Promise<void>;
  /** Closes the pool. */
  end(): Promise<void>;
}

/** Options of {@link createDb}. */
export interface DbOptions {
  /** Postgres URL (the direct one, or the transaction pooler's). */
  url: string;
  /** Through the transaction pooler: prepared statements must be off. */
  usesPooler?: boolean;
  /** Pool size; small on purpose (an isolate serves few requests at once). */
  max?: number;
  /** Statement timeout inside each transaction, in milliseconds. */
  statementTimeoutMs?: number;
  /**
   * Further attempts of a transaction the database aborted as a deadlock victim (40P01)
   * or a serialization failure (40001), each after a short random wait (default 3).
   */
  conflictRetries?: number;
}

/** SQLSTATEs after which running the whole transaction again is the documented remedy. */
export const RETRYABLE_SQLSTATES = new Set(["40P01", "40001"]);

/** True for a database error whose transaction can simply be run again (deadlock, serialization). */
export function isRetryableConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && RETRYABLE_SQLSTATES.has(code);
}

/**
 * The wait before attempt `attempt + 1` of a transaction that lost a deadlock: random
 * (full jitter) so the two parties do not meet again, growing with the attempt.
 */
export function conflictBackoffMs(attempt: number): number {
  return Math.round(Math.random() * Math.min(25 * 2 ** attempt, 400));
}

/**
 * Creates the pool. Connections open lazily, so creating it never fails.
 * @example const db = createDb({ url: config.databaseUrl, usesPooler: config.usesPooler });
 */
export function createDb(options: DbOptions): Db {
  const sql = postgres(options.url, {
    max: options.max ?? 4,
    prepare: !options.usesPooler,
    idle_timeout: 20,
    connect_timeout: 5,
    // Between failed connects the driver waits 3^n / 100 s by default (up to 20 s): after a
    // short outage each request would hang that long before its 503, and again once the
    // database is back. Cap it (seconds, with jitter) so failures and recovery stay fast.
    backoff: (retries: number) => (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** retries, 1),
    onnotice: () => {},
    connection: { application_name: "stowage-functions" },
  });
  const timeout = `${options.statementTimeoutMs ?? 15_000}ms`;
  const retries = options.conflictRetries ?? 3;

  // The one call site that sets the role and claims. The role is clamped to
  // `authenticated` whatever the token says; set_config(..., true) is
  // SET LOCAL, so nothing outlives the transaction on a pooled connection.
  // A transaction the database aborted as a deadlock victim or a serialization
  // failure rolled back entirely: it is run again (`fn` from the start) a few
  // times, after a random wait, before the error reaches the client.
  async function scoped<T>(
    role: "authenticated" | "service_role",
    claims: Record<string, unknown>,
    fn: (tx: Tx) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 0;; attempt++) {
      try {
        return await once(role, claims, fn);
      } catch (error) {
        if (attempt >= retries || !isRetryableConflict(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, conflictBackoffMs(attempt)));
      }
    }
  }

  // BEGIN and the claims are not waited for: they go out with the transaction's first
  // statement, pipelined on one reserved connection (the server runs them in order and a
  // failure makes what follows fail with it). When `fn` returns its one statement without
  // awaiting it, COMMIT goes out behind that statement too: the whole transaction is one
  // round trip, and no row lock the statement takes (the quota's usage row) is held while
  // the answer travels back and a COMMIT travels here. A statement that fails leaves the
  // transaction aborted, and that COMMIT then only rolls it back. Through the transaction
  // pooler the same messages are sent in the same order; without prepared statements the
  // driver waits for each parameterized statement's description first, so there are more
  // round trips, never other statements.
  async function once<T>(
    role: "authenticated" | "service_role",
    claims: Record<string, unknown>,
    fn: (tx: Tx) => Promise<T>,
  ): Promise<T> {
    const tx = await sql.reserve();
    const sent: Promise<unknown>[] = [];
    const send = <Q extends Promise<unknown>>(query: Q): Q => {
      sent.push(query);
      // Surfaced below, in order; never an unhandled rejection meanwhile.
      query.catch(() => {});
      return query;
    };
    let closed = false;
    try {
      send(tx`begin`);
      send(tx`select
          set_config('role', ${role}, true),
          set_config('request.jwt.claims', ${JSON.stringify(claims)}, true),
          set_config('request.jwt.claim.sub', ${String(claims.sub ?? "")}, true),
          set_config('request.jwt.claim.role', ${role}, true),
          set_config('statement_timeout', ${timeout}, true)`);
      const out = fn(tx);
      if (isStatement(out)) {
        send(out);
        send(tx`commit`).then(() => (closed = true), () => {});
        await settleInOrder(sent);
        return await out;
      }
      const result = await out;
      await settleInOrder(sent);
      await tx`commit`;
      closed = true;
      return result;
    } catch (error) {
      await settleInOrder(sent).catch(() => {});
      throw error;
    } finally {
      // After a failure the transaction may still be open (a statement of `fn` failed, or
      // `fn` threw): close it before the connection serves anyone else.
      if (!closed) await tx`rollback`.catch(() => {});
      tx.release();
    }
  }

  return {
    withUser: <T>(claims: UserClaims, fn: (tx: Tx) => Promise<T>) =>
      scoped<T>("authenticated", { ...claims, role: "authenticated" }, fn),
    withService: <T>(fn: (tx: Tx) => Promise<T>) =>
      scoped<T>("service_role", { role: "service_role" }, fn),
    async ping() {
      await sql`select 1`;
    },
    async end() {
      await sql.end({ timeout: 1 });
    },
  };
}

/** Whether `value` is a statement of the driver (a pending query), not a plain promise. */
function isStatement(value: unknown): value is postgres.PendingQuery<postgres.Row[]> {
  return value instanceof Promise &&
    typeof (value as { execute?: unknown }).execute === "function" &&
    "strings" in value;
}

/**
 * Waits for every statement sent, in the order sent, and rethrows the first failure: the
 * statements after a failed one fail too (the transaction is aborted), and the first error
 * is the one that explains.
 */
async function settleInOrder(sent: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(sent);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
}
