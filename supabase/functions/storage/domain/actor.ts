/**
 * @module Who a request acts for: a signed-in user (their own JWT, SQL as
 * `authenticated`, RLS decides), or a backend holding the service key that
 * names a user (`userId`; SQL as `service_role`, Storage-API calls with the
 * service key, every key built inside that user's home). Which user that is,
 * and whether the caller may act for them, is decided in SQL once
 * (`stowage.acting_home` -> `stowage.acting_user`): a user naming anyone else
 * gets 403, a service caller without `userId` 400, an unknown user 404.
 */
import { AppError } from "../../_shared/app-error.ts";
import type { Caller } from "../../_shared/auth.ts";
import type { Db, Tx } from "../../_shared/db.ts";
import { homePrefix } from "./homes.ts";

/** The party a request acts for. */
export interface Actor {
  /** The bearer sent to the Storage API (the user's JWT, or the service key). */
  token: string;
  /** Runs `fn` in one transaction as the caller (`authenticated` with claims, or `service_role`). */
  run<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * The acted-for user's home prefix in `bucket`.
   * @throws AppError forbidden, invalid_request, not_found (user or bucket)
   */
  home(tx: Tx, bucket: string): Promise<string>;
}

/**
 * The actor of a request: the caller itself, or, for the service role, the user it names.
 * @param userId the `userId` the request names (optional for users: themselves only)
 * @throws AppError invalid_request when the service role names no user
 * @example const actor = actorFor(scope(c), scope(c).caller, query.userId);
 */
export function actorFor(
  deps: { db: Db },
  caller: Caller,
  userId?: string | null,
): Actor {
  const named = userId ?? null;
  if (caller.kind === "service" && !named) {
    // Said here too so a backend's mistake costs no database round trip; the SQL check holds.
    throw new AppError("invalid_request", "Name the user to act for: send userId", {
      details: { field: "userId" },
    });
  }
  return {
    token: caller.token,
    run: runAsCaller(deps, caller),
    home: (tx, bucket) => homePrefix(tx, bucket, named),
  };
}

/**
 * Transactions as the caller: `authenticated` with the user's claims, or `service_role`.
 * @example await runAsCaller(scope(c), scope(c).caller)((tx) => tx`select 1`);
 */
export function runAsCaller(deps: { db: Db }, caller: Caller): Actor["run"] {
  return <T>(fn: (tx: Tx) => Promise<T>) =>
    caller.kind === "user" ? deps.db.withUser(caller.claims, fn) : deps.db.withService(fn);
}
