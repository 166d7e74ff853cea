/**
 * @module Reserve, then sign: an upload first reserves quota in SQL (one
 * all-or-nothing call to `stowage.reserve`, as the user, or as the service
 * role for the user it names), then is signed through the Storage API with the
 * caller's own credentials. A signing failure cancels the reservations it made.
 */
import { AppError } from "../../_shared/app-error.ts";
import type { Caller } from "../../_shared/auth.ts";
import type { Db, Tx } from "../../_shared/db.ts";
import { toAppError } from "../../_shared/errors.ts";
import { assertFilePath, assertFilePaths } from "../../_shared/paths.ts";
import type { StorageGateway } from "./storage-api.ts";

/** One file to upload, as the client declares it. */
export interface FileToUpload {
  path: string;
  size: number;
  contentType: string;
}

/** A reserved and signed upload. */
export interface Upload {
  bucket: string;
  path: string;
  /** Full object key, for `uploadToSignedUrl(key, token, file)`. */
  key: string;
  size: number;
  /** The exact Content-Type the upload must send. */
  contentType: string;
  signedUrl: string;
  token: string;
  expiresAt: string;
  /** When the quota reservation lapses. */
  reservationExpiresAt: string;
}

/** An upload request: one or more files in one bucket. */
export interface UploadRequest {
  bucket: string;
  files: FileToUpload[];
  upsert: boolean;
  /** Service-role callers name the user they act for. */
  userId?: string | null;
}

interface ReservedRow {
  path: string;
  name: string;
  size: string | number;
  content_type: string;
  expires_at: Date;
  reservation_expires_at: Date;
}

const SIGN_CONCURRENCY = 8;

/**
 * Reserves quota for every file (all or nothing), then signs each upload.
 * @throws AppError invalid_path, not_found, already_exists, file_too_large,
 *   unsupported_media_type, quota_exceeded, storage_unavailable, ...
 */
export async function reserveUploads(
  deps: { db: Db; storage: StorageGateway },
  caller: Caller,
  request: UploadRequest,
): Promise<Upload[]> {
  assertFilePaths(request.files.map((file) => file.path));
  const userId = actingUser(caller, request.userId);
  const rows = await asCaller(deps.db, caller, (tx) =>
    tx<ReservedRow[]>`
      select * from stowage.reserve(${request.bucket}, ${tx.json(request.files as never)},
        ${request.upsert}, ${userId}::uuid)`);
  try {
    return await mapLimit(rows, SIGN_CONCURRENCY, async (row) => {
      const signed = await deps.storage.signUpload(
        caller.token,
        request.bucket,
        row.name,
        request.upsert,
      );
      return {
        bucket: request.bucket,
        path: row.path,
        key: row.name,
        size: Number(row.size),
        contentType: row.content_type,
        ...signed,
        reservationExpiresAt: new Date(row.reservation_expires_at).toISOString(),
      };
    });
  } catch (error) {
    await cancelQuietly(deps.db, caller, request.bucket, rows.map((r) => r.path), userId);
    throw error;
  }
}

/**
 * Cancels a live reservation (the client gave up on an upload).
 * @throws AppError 404 not_found when none is live
 */
export async function cancelUpload(
  db: Db,
  caller: Caller,
  bucket: string,
  path: string,
  userId?: string | null,
): Promise<void> {
  assertFilePath(path);
  const actor = actingUser(caller, userId);
  await asCaller(
    db,
    caller,
    (tx) => tx`select stowage.cancel_reservation(${bucket}, ${path}, ${actor}::uuid)`,
  );
}

function actingUser(caller: Caller, userId: string | null | undefined): string | null {
  if (caller.kind === "service") {
    if (!userId) {
      throw new AppError("invalid_request", "Name the user to act for: send userId", {
        details: { field: "userId" },
      });
    }
    return userId;
  }
  // A user may name only themselves; the SQL refuses anyone else with 403.
  return userId ?? null;
}

function asCaller<T>(db: Db, caller: Caller, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return caller.kind === "user" ? db.withUser(caller.claims, fn) : db.withService(fn);
}

async function cancelQuietly(
  db: Db,
  caller: Caller,
  bucket: string,
  paths: string[],
  userId: string | null,
): Promise<void> {
  try {
    await asCaller(db, caller, async (tx) => {
      for (const path of paths) {
        await tx`select stowage.cancel_reservation(${bucket}, ${path}, ${userId}::uuid)`;
      }
    });
  } catch (error) {
    // The reservation lapses on its own; the signing error is what the client must see.
    console.error("Cannot cancel reservations after a signing failure", toAppError(error).message);
  }
}

/** Maps with at most `limit` calls in flight; the first failure rejects. */
export async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index], index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
