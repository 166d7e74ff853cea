/**
 * @module Deleting named objects through the Storage API with the user's JWT
 * (RLS decides), or the service key for a backend acting for a user (keys built
 * inside that user's home). Paths the server did not delete are `notFound` (missing or
 * not the caller's); a chunk that keeps failing is reported in `failed`.
 */
import type { Actor } from "./actor.ts";
import { toAppError } from "../../_shared/errors.ts";
import { assertFilePaths } from "../../_shared/paths.ts";
import { withRetry } from "./retry.ts";
import { REMOVE_CHUNK, type StorageGateway } from "./storage-api.ts";

/** A path that could not be deleted, with why. */
export interface FailedPath {
  path: string;
  code: string;
  message: string;
}

/** Outcome of {@link deleteObjects}. */
export interface DeleteResult {
  deleted: string[];
  notFound: string[];
  failed: FailedPath[];
}

/**
 * Deletes up to 1000 home-relative paths.
 * @throws AppError invalid_path; storage_unavailable when every chunk failed
 */
export async function deleteObjects(
  deps: { storage: StorageGateway },
  actor: Actor,
  bucket: string,
  paths: string[],
): Promise<DeleteResult> {
  const unique = [...new Set(assertFilePaths(paths))];
  const home = await actor.run((tx) => actor.home(tx, bucket));
  const result: DeleteResult = { deleted: [], notFound: [], failed: [] };
  let lastError: unknown = null;
  for (let start = 0; start < unique.length; start += REMOVE_CHUNK) {
    const chunk = unique.slice(start, start + REMOVE_CHUNK);
    try {
      const removed = new Set(
        await withRetry(() => deps.storage.remove(actor.token, bucket, chunk.map((p) => home + p))),
      );
      for (const path of chunk) {
        (removed.has(home + path) ? result.deleted : result.notFound).push(path);
      }
    } catch (error) {
      lastError = error;
      const appError = toAppError(error);
      for (const path of chunk) {
        result.failed.push({ path, code: appError.code, message: appError.message });
      }
    }
  }
  if (lastError && result.failed.length === unique.length) throw lastError;
  return result;
}
