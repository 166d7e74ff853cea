/**
 * @module The caller's home folder in a bucket, as the database defines it
 * (`stowage.home_prefix`). Nothing in TypeScript builds home paths itself.
 */
import { AppError } from "../../_shared/app-error.ts";
import type { Tx } from "../../_shared/db.ts";

/**
 * Returns the user's home prefix in `bucket` (e.g. `user_data/<uid>/`).
 * @throws AppError 404 not_found when the bucket is not managed by Stowage
 */
export async function homePrefix(tx: Tx, bucket: string, userId: string): Promise<string> {
  const [row] = await tx<{ prefix: string | null }[]>`
    select stowage.home_prefix(${bucket}, ${userId}::uuid) as prefix`;
  if (!row?.prefix) {
    throw new AppError("not_found", `Cannot find bucket "${bucket}": it is not a Stowage bucket`);
  }
  return row.prefix;
}
