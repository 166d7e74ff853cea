/**
 * @module Bulk signed download links: one Storage-API call with the user's JWT
 * (or the service key of a backend acting for a user, inside that user's home)
 * signs up to 1000 paths; a missing or foreign path is a per-path error, never
 * a failure of the whole request.
 */
import { assertFilePaths } from "../../_shared/paths.ts";
import type { Actor } from "./actor.ts";
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
  deps: { storage: StorageGateway },
  actor: Actor,
  bucket: string,
  paths: string[],
  expiresIn: number,
): Promise<DownloadLink[]> {
  assertFilePaths(paths);
  const home = await actor.run((tx) => actor.home(tx, bucket));
  const expiresAt = new Date(Date.now() + expiresIn * 1000).toISOString();
  const signed = await withRetry(() =>
    deps.storage.signDownloads(actor.token, bucket, paths.map((p) => home + p), expiresIn)
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
