/**
 * @module The storage function's calls: uploads (reserve, then PUT with
 * progress; or, for large files, resumably with TUS), listing (one page or every page), deletion of files and whole
 * folders, signed download links and the quota.
 */
import { StowageError } from "./errors.ts";
import { call, type Transport } from "./http.ts";
import { type Progress, putToSignedUrl } from "./put.ts";
import {
  RESUMABLE_THRESHOLD,
  type ResumableReservation,
  startResumable,
  type UploadHandle,
  type UrlStorage,
} from "./resumable.ts";
import type {
  BatchUploadResponse,
  DeleteFolderRequest,
  DeleteFolderResponse,
  DeleteObjectsRequest,
  DeleteObjectsResponse,
  DownloadsRequest,
  DownloadsResponse,
  ListPage,
  ListQuery,
  Quota,
  Upload,
} from "./types.ts";

/** Options of {@link upload}. */
export interface UploadOptions {
  bucket: string;
  /** Path relative to the user's home, e.g. `course-42/notes.json`. */
  path: string;
  /** Defaults to the file's own type, else `application/octet-stream`. */
  contentType?: string;
  /** Overwrite an existing file (default false: 409 already_exists). */
  upsert?: boolean;
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
  /**
   * Upload with TUS (resumable, in 6 MiB chunks) instead of one PUT. Default: for files
   * above the client's `resumableThreshold` (6 MiB).
   */
  resumable?: boolean;
}

/** How the client uploads resumably (from {@link StowageOptions}). */
export interface ResumableConfig {
  /** Files above this many bytes go resumably when `resumable` is not given (default 6 MiB). */
  threshold?: number;
  /** tus-js-client's URL storage, to resume after a reload (default: localStorage in browsers). */
  urlStorage?: UrlStorage;
  /** Delays between tus-js-client's retries of a failed request. */
  retryDelays?: number[];
}

/** A finished upload. */
export interface UploadResult {
  bucket: string;
  path: string;
  /** Full object key in the bucket. */
  key: string;
  size: number;
  contentType: string;
}

function typeOf(file: Blob, given?: string): string {
  return given || file.type || "application/octet-stream";
}

/** Cancels a reservation after a failed PUT so its bytes stop counting at once. */
async function cancelQuietly(t: Transport, bucket: string, path: string): Promise<unknown> {
  try {
    await call(t, "storage", { method: "DELETE", path: "/uploads", body: { bucket, path } });
    return null;
  } catch (error) {
    // The reservation lapses by itself; the caller still gets the PUT's error.
    return error;
  }
}

function resultOf(r: Upload): UploadResult {
  const { bucket, path, key, size, contentType } = r;
  return { bucket, path, key, size, contentType };
}

function wantsResumable(file: Blob, o: { resumable?: boolean }, cfg: ResumableConfig): boolean {
  return o.resumable ?? file.size > (cfg.threshold ?? RESUMABLE_THRESHOLD);
}

async function reserveResumable(
  t: Transport,
  body: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<ResumableReservation> {
  const r = await call<Upload>(t, "storage", {
    method: "POST",
    path: "/uploads",
    body: { ...body, resumable: true },
    signal,
  });
  return withResumable(r);
}

function withResumable(r: Upload): ResumableReservation {
  if (!r.resumable) {
    throw new StowageError(
      "unexpected_response",
      `Cannot upload "${r.path}" resumably: the answer has no "resumable" (an older function?)`,
      0,
    );
  }
  return r as ResumableReservation;
}

/** Wraps a reservation handle into one that yields the {@link UploadResult}. */
function handleOf(
  h: UploadHandle<ResumableReservation>,
  signal?: AbortSignal,
): UploadHandle<UploadResult> {
  if (signal) {
    if (signal.aborted) h.abort();
    else signal.addEventListener("abort", () => h.abort(), { once: true });
  }
  return {
    done: h.done.then(resultOf),
    get state() {
      return h.state;
    },
    get resumedFrom() {
      return h.resumedFrom;
    },
    pause: () => h.pause(),
    resume: () => h.resume(),
    abort: () => h.abort(),
  };
}

/**
 * Starts a resumable (TUS) upload and returns at once with a handle to pause, resume or
 * abort it; `handle.done` settles with the result. Reserves like {@link upload}, with
 * `resumable: true`; an earlier, unfinished upload of the same File to the same path is
 * continued from where it stopped (found in the URL storage: localStorage in a browser).
 */
export function startUpload(
  t: Transport,
  file: Blob,
  o: UploadOptions,
  cfg: ResumableConfig = {},
): UploadHandle<UploadResult> {
  const upsert = o.upsert ?? false;
  const body = {
    bucket: o.bucket,
    path: o.path,
    size: file.size,
    contentType: typeOf(file, o.contentType),
    upsert,
  };
  return handleOf(
    startResumable(file, {
      reserve: (signal) => reserveResumable(t, body, signal),
      cancel: () => cancelQuietly(t, o.bucket, o.path),
    }, { onProgress: o.onProgress, urlStorage: cfg.urlStorage, retryDelays: cfg.retryDelays }),
    o.signal,
  );
}

/**
 * PUTs the bytes for a reservation; on failure cancels it and throws the PUT's
 * error (a failed cancel is added to `details.cancelError`).
 */
export async function transfer(
  t: Transport,
  reservation: Upload,
  file: Blob,
  upsert: boolean,
  onProgress?: (progress: Progress) => void,
  signal?: AbortSignal,
): Promise<UploadResult> {
  try {
    await putToSignedUrl({
      signedUrl: reservation.signedUrl,
      body: file,
      contentType: reservation.contentType,
      upsert,
      onProgress,
      signal,
      fetch: t.fetch,
    });
  } catch (error) {
    const cancelError = await cancelQuietly(t, reservation.bucket, reservation.path);
    if (cancelError && error instanceof StowageError) {
      throw new StowageError(error.code, error.message, error.status, {
        ...(typeof error.details === "object" ? error.details : {}),
        cancelError: String(cancelError),
      }, error);
    }
    throw error;
  }
  const { bucket, path, key, size, contentType } = reservation;
  return { bucket, path, key, size, contentType };
}

/**
 * Uploads one file: reserves quota (`POST /uploads`, which refuses with
 * `quota_exceeded`, `file_too_large`, `unsupported_media_type`,
 * `already_exists`...), then PUTs the bytes to the signed URL, or, for a
 * large file (or `resumable: true`), sends them with TUS ({@link startUpload}).
 */
export async function upload(
  t: Transport,
  file: Blob,
  o: UploadOptions,
  cfg: ResumableConfig = {},
): Promise<UploadResult> {
  if (wantsResumable(file, o, cfg)) return await startUpload(t, file, o, cfg).done;
  const upsert = o.upsert ?? false;
  const sentBeforeAbort = !o.signal?.aborted;
  let reservation: Upload;
  try {
    reservation = await call<Upload>(t, "storage", {
      method: "POST",
      path: "/uploads",
      body: {
        bucket: o.bucket,
        path: o.path,
        size: file.size,
        contentType: typeOf(file, o.contentType),
        upsert,
      },
      signal: o.signal,
    });
  } catch (error) {
    // Aborted while the reservation was on its way: the server may have made it; free it.
    if (sentBeforeAbort && error instanceof StowageError && error.code === "aborted") {
      await cancelQuietly(t, o.bucket, o.path);
    }
    throw error;
  }
  return await transfer(t, reservation, file, upsert, o.onProgress, o.signal);
}

/** One file of {@link uploadMany}. */
export interface ManyFile {
  file: Blob;
  path: string;
  contentType?: string;
}

/** Options of {@link uploadMany}. */
export interface UploadManyOptions {
  bucket: string;
  upsert?: boolean;
  /** Parallel PUTs (default 3). */
  concurrency?: number;
  onProgress?: (path: string, progress: Progress) => void;
  signal?: AbortSignal;
  /** As {@link UploadOptions.resumable}, for every file (default: by size). */
  resumable?: boolean;
}

/** Outcome of {@link uploadMany}: every file is either uploaded or failed. */
export interface UploadManyResult {
  uploaded: UploadResult[];
  failed: { path: string; error: StowageError }[];
}

/**
 * Uploads up to 100 files: reserves them all or none (`POST /uploads/batch`:
 * a quota refusal throws before any byte moves), then PUTs them in parallel.
 */
export async function uploadMany(
  t: Transport,
  files: ManyFile[],
  o: UploadManyOptions,
  cfg: ResumableConfig = {},
): Promise<UploadManyResult> {
  const upsert = o.upsert ?? false;
  const resumable = files.map((f) => wantsResumable(f.file, o, cfg));
  const { uploads } = await call<BatchUploadResponse>(t, "storage", {
    method: "POST",
    path: "/uploads/batch",
    body: {
      bucket: o.bucket,
      upsert,
      files: files.map((f) => ({
        path: f.path,
        size: f.file.size,
        contentType: typeOf(f.file, f.contentType),
      })),
      resumable: resumable.some(Boolean),
    },
    signal: o.signal,
  });
  const result: UploadManyResult = { uploaded: [], failed: [] };
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const i = next++;
      const onProgress = o.onProgress && ((p: Progress) => o.onProgress!(files[i].path, p));
      try {
        result.uploaded.push(
          resumable[i]
            ? await resumeBatchItem(t, uploads[i], files[i], upsert, cfg, onProgress, o.signal)
            : await transfer(t, uploads[i], files[i].file, upsert, onProgress, o.signal),
        );
      } catch (error) {
        const e = error instanceof StowageError
          ? error
          : new StowageError("network_error", String(error), 0, null, error);
        result.failed.push({ path: files[i].path, error: e });
      }
    }
  };
  const n = Math.max(1, Math.min(o.concurrency ?? 3, files.length));
  await Promise.all(Array.from({ length: n }, worker));
  return result;
}

/** Sends one file of a batch with TUS, under the batch's reservation (renewed alone if need be). */
function resumeBatchItem(
  t: Transport,
  reservation: Upload,
  f: ManyFile,
  upsert: boolean,
  cfg: ResumableConfig,
  onProgress?: (progress: Progress) => void,
  signal?: AbortSignal,
): Promise<UploadResult> {
  let first: Upload | null = reservation;
  const body = {
    bucket: reservation.bucket,
    path: reservation.path,
    size: reservation.size,
    contentType: reservation.contentType,
    upsert,
  };
  return handleOf(
    startResumable(f.file, {
      reserve: (s) => {
        const r = first;
        first = null;
        return r ? Promise.resolve(withResumable(r)) : reserveResumable(t, body, s);
      },
      cancel: () => cancelQuietly(t, reservation.bucket, reservation.path),
    }, { onProgress, urlStorage: cfg.urlStorage, retryDelays: cfg.retryDelays }),
    signal,
  ).done;
}

/** Lists one page of a folder (`GET /objects`). */
export async function list(t: Transport, q: ListQuery, signal?: AbortSignal): Promise<ListPage> {
  return await call<ListPage>(t, "storage", {
    method: "GET",
    path: "/objects",
    query: {
      bucket: q.bucket,
      prefix: q.prefix,
      recursive: q.recursive,
      limit: q.limit,
      cursor: q.cursor,
    },
    signal,
  });
}

/** Every page of a listing, fetched as the loop asks for it. */
export async function* listAll(
  t: Transport,
  q: Omit<ListQuery, "cursor">,
  signal?: AbortSignal,
): AsyncGenerator<ListPage, void, undefined> {
  let cursor: string | null = null;
  do {
    const page: ListPage = await list(t, { ...q, cursor }, signal);
    yield page;
    cursor = page.nextCursor;
  } while (cursor);
}

/** Deletes files (`DELETE /objects`, up to 1,000 paths). */
export async function deleteFiles(
  t: Transport,
  body: DeleteObjectsRequest,
): Promise<DeleteObjectsResponse> {
  return await call(t, "storage", { method: "DELETE", path: "/objects", body });
}

/** Progress of {@link deleteFolder}, after each call. */
export interface FolderProgress {
  /** Objects deleted so far, over all calls. */
  deleted: number;
  /** Objects still below the folder after the last call (at most 10,000: see remainingCapped). */
  remaining: number;
  /** True when more than `remaining` objects were left after the last call (the count stops). */
  remainingCapped?: boolean;
  /** Paths that failed so far. */
  failed: DeleteFolderResponse["failed"];
  calls: number;
}

/** Options of {@link deleteFolder}. */
export type DeleteFolderOptions = DeleteFolderRequest & {
  onProgress?: (progress: FolderProgress) => void;
  signal?: AbortSignal;
  /** Calls in a row that delete nothing before giving up (default 3). */
  maxStalls?: number;
};

/**
 * Deletes everything below a folder, calling `DELETE /folders` until it is done.
 * @throws StowageError `delete_stalled` (details: the progress) when calls stop
 *   deleting while objects remain
 */
export async function deleteFolder(
  t: Transport,
  o: DeleteFolderOptions,
): Promise<FolderProgress> {
  const { onProgress, signal, maxStalls = 3, ...body } = o;
  const total: FolderProgress = { deleted: 0, remaining: 0, failed: [], calls: 0 };
  let stalls = 0;
  while (true) {
    const r = await call<DeleteFolderResponse>(t, "storage", {
      method: "DELETE",
      path: "/folders",
      body,
      signal,
    });
    total.calls++;
    total.deleted += r.deleted;
    total.remaining = r.remaining;
    total.remainingCapped = r.remainingCapped ?? false;
    total.failed = [...total.failed, ...r.failed];
    onProgress?.({ ...total });
    if (r.done) return total;
    stalls = r.deleted === 0 ? stalls + 1 : 0;
    if (stalls >= maxStalls) {
      throw new StowageError(
        "delete_stalled",
        `Cannot delete folder "${o.prefix}": ${
          r.remainingCapped ? "more than " : ""
        }${r.remaining} objects remain after ${stalls} calls that deleted nothing`,
        0,
        total,
      );
    }
  }
}

/** Signs download links (`POST /downloads`); each entry has a URL or an error. */
export async function downloadUrls(
  t: Transport,
  body: DownloadsRequest,
): Promise<DownloadsResponse["urls"]> {
  const r = await call<DownloadsResponse>(t, "storage", {
    method: "POST",
    path: "/downloads",
    body,
  });
  return r.urls;
}

/** The caller's plan and usage (`GET /quota`). */
export async function quota(t: Transport): Promise<Quota> {
  return await call<Quota>(t, "storage", { method: "GET", path: "/quota" });
}
