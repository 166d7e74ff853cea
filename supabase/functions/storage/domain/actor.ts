/**
 * @module Who a request acts for: a signed-in user (their own JWT, SQL as
 * `authenticated`, RLS decides), or a backend holding the service key that
 * names a user (`userId`; SQL as `service_role`, Storage-API calls with the
 * service key, every key built inside that user's home). Which user that is,
 * and whether the caller may act for them, is decided in SQL once
 * (`stowage.acting_home` -> `stowage.acting_user`): a user naming anyone else
 * gets 403, a service caller without `userId` 400, an unknown user 404.
 */
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
 * @example const actor = actorFor(scope(c), scope(c).caller, query.userId);
 */
export function actorFor(
  deps: { db: Db },
  caller: Caller,
  userId?: string | null,
): Actor {
  const named = userId ?? null;
  return {
    token: caller.token,
    run: <T>(fn: (tx: Tx) => Promise<T>) =>
      caller.kind === "user" ? deps.db.withUser(caller.claims, fn) : deps.db.withService(fn),
    home: (tx, bucket) => homePrefix(tx, bucket, named),
  };
}
