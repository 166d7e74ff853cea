/**
 * @module Bulk signed download links: one Storage-API call with the user's JWT
 * signs up to 1000 paths; a missing or foreign path is a per-path error, never
 * a failure of the whole request.
 */
import type { UserClaims } from "../../_shared/auth.ts";
import type { Db } from "../../_shared/db.ts";
import { assertFilePaths } from "../../_shared/paths.ts";
import { homePrefix } from "./homes.ts";
import { withRetry } from "./retry.ts";
import type { StorageGateway } from "./storage-api.ts";

/** One signed link, or why there is none. */
export type DownloadLink =
  | { path: string; signedUrl: string; expiresAt: string }
  | { path: string; error: { code: "not_found"; message: string } };

/**
 * Signs download links for home-relative paths, in input order.
 * @throws AppError invalid_path, not_found (bucket), storage_unavailable
 */
export async function signDownloads(
  deps: { db: Db; storage: StorageGateway },
  user: { claims: UserClaims; token: string },
  bucket: string,
  paths: string[],
  expiresIn: number,
): Promise<DownloadLink[]> {
  assertFilePaths(paths);
  const home = await deps.db.withUser(user.claims, (tx) => homePrefix(tx, bucket, user.claims.sub));
  const expiresAt = new Date(Date.now() + expiresIn * 1000).toISOString();
  const signed = await withRetry(() =>
    deps.storage.signDownloads(user.token, bucket, paths.map((p) => home + p), expiresIn)
  );
  return paths.map((path, index) => {
    const entry = signed[index];
    if (entry?.signedUrl) return { path, signedUrl: entry.signedUrl, expiresAt };
    return {
      path,
      error: {
        code: "not_found",
        message: `Cannot find "${path}": it does not exist or is not yours`,
      },
    };
  });
}
