/**
 * @module The home folder, in a bucket, of the user a request acts for, as the
 * database defines it (`stowage.acting_home`). Nothing in TypeScript builds
 * home paths itself.
 */
import { AppError } from "../../_shared/app-error.ts";
import type { Tx } from "../../_shared/db.ts";

/**
 * Returns the home prefix in `bucket` (e.g. `user_data/<uid>/`) of the caller (a user), or of
 * `userId` (a user may name only themselves; the service role must name an existing user).
 * @throws AppError 404 not_found when the bucket is not managed by Stowage; forbidden,
 *   invalid_request or not_found from the acting-user check
 */
export async function homePrefix(tx: Tx, bucket: string, userId: string | null): Promise<string> {
  const [row] = await tx<{ prefix: string | null }[]>`
    select stowage.acting_home(${bucket}, ${userId}::uuid) as prefix`;
  if (!row?.prefix) {
    throw new AppError("not_found", `Cannot find bucket "${bucket}": it is not a Stowage bucket`);
  }
  return row.prefix;
}
