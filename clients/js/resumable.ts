/**
 * @module Resumable uploads (TUS) through tus-js-client: the reservation's
 * `resumable` answer (Supabase Storage's signed TUS endpoint, the
 * `x-signature` header, 6 MiB chunks), progress, pause and resume (a handle),
 * resume after a page reload from tus-js-client's URL storage (localStorage in
 * a browser; pass `urlStorage` elsewhere), and every failure as a
 * {@link StowageError} with the same codes as a standard upload.
 */
import * as tus from "tus-js-client";
import { fromStorageResponse, StowageError, type StowageErrorCode } from "./errors.ts";
import type { Progress } from "./put.ts";
import type { ResumableUpload, Upload } from "./types.ts";

/** Files above this size (6 MiB, one TUS chunk) upload resumably unless told otherwise. */
export const RESUMABLE_THRESHOLD = 6 * 1024 * 1024;

/** An upload remembered in a {@link UrlStorage} (tus-js-client's `PreviousUpload`). */
export interface PreviousUpload {
  size: number | null;
  metadata: { [key: string]: string };
  creationTime: string;
  urlStorageKey: string;
  uploadUrl: string | null;
  parallelUploadUrls: string[] | null;
}

/**
 * Where tus-js-client remembers upload URLs (by file fingerprint) to resume them later: the
 * shape of its `UrlStorage`, spelled out here so the client's types stand alone (tus-js-client's
 * own declarations need Node's types).
 */
export interface UrlStorage {
  findAllUploads(): Promise<PreviousUpload[]>;
  findUploadsByFingerprint(fingerprint: string): Promise<PreviousUpload[]>;
  removeUpload(urlStorageKey: string): Promise<void>;
  /** Returns the key under which the upload is stored (for removing it). */
  addUpload(fingerprint: string, upload: PreviousUpload): Promise<string>;
}

/** The state of a {@link UploadHandle}. */
export type UploadState = "reserving" | "uploading" | "paused" | "done" | "failed";

/**
 * A started resumable upload.
 * @example
 * const h = stowage.startUpload(file, { bucket, path, onProgress: (p) => bar.value = p.fraction });
 * pauseButton.onclick = () => h.state === "paused" ? h.resume() : h.pause();
 * await h.done;
 */
export interface UploadHandle<T> {
  /** Settles once: the landed file, or the StowageError that ended the upload. */
  readonly done: Promise<T>;
  /** Where the upload is. */
  readonly state: UploadState;
  /** The byte offset this upload continued from (an earlier run's bytes), else 0. */
  readonly resumedFrom: number;
  /** Stops sending; the bytes stored so far stay on the server. Resolves once paused. */
  pause(): Promise<void>;
  /** Continues a paused upload from the server's offset (re-signing when the token ran out). */
  resume(): void;
  /** Gives up: removes the stored chunks, frees the reservation; `done` rejects `aborted`. */
  abort(): Promise<void>;
}

/** What a resumable transfer needs beyond the file. */
export interface ResumableOptions {
  /** Called as chunks go (and with the stored offset when resuming). */
  onProgress?: (progress: Progress) => void;
  /** tus-js-client's URL storage (default: its own, localStorage in browsers, none elsewhere). */
  urlStorage?: UrlStorage;
  /** Delays between tus-js-client's retries of a failed request (default `[0, 1000, 3000, 5000]`). */
  retryDelays?: number[];
}

/** A reservation that carries the TUS answer. */
export type ResumableReservation = Upload & { resumable: ResumableUpload };

function progress(loaded: number, total: number): Progress {
  return { loaded, total, fraction: total === 0 ? 1 : Math.min(1, loaded / total) };
}

/**
 * tus-js-client's Node build reads only Buffers and streams: elsewhere than in a browser, a
 * Blob is read one chunk at a time into a Uint8Array (the Node HTTP stack's body type).
 */
const blobReader: tus.FileReader = {
  openFile(input: Blob) {
    return Promise.resolve({
      size: input.size,
      async slice(start: number, end: number) {
        const value = new Uint8Array(await input.slice(start, end).arrayBuffer());
        return { value: Object.assign(value, { size: value.length }), done: end >= input.size };
      },
      close() {},
    });
  },
};

/**
 * The fingerprint an upload is remembered by: the object's key and the file's size, type, name
 * and last change. A Blob without a name and date has none: it is never resumed from storage
 * (another Blob of the same size could take its place).
 */
export function fingerprintOf(key: string, file: Blob): string | null {
  const f = file as Partial<File>;
  if (typeof f.name !== "string" || typeof f.lastModified !== "number") return null;
  return ["stowage", key, file.size, file.type, f.name, f.lastModified].join(":");
}

/** Turns tus-js-client's error into a StowageError (the Storage API's coded refusal, if any). */
export function fromTusError(error: unknown, aborted = false): StowageError {
  if (error instanceof StowageError) return error;
  const what = "Cannot upload the file";
  if (aborted) return new StowageError("aborted", `${what}: aborted`, 0, null, error);
  const response = (error as tus.DetailedError | null)?.originalResponse ?? null;
  if (!response) {
    const cause = (error as tus.DetailedError | null)?.causingError ?? error;
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new StowageError("network_error", `${what}: ${reason}`, 0, null, error);
  }
  const status = response.getStatus();
  const body = (response.getBody() ?? "").trim();
  if (body.startsWith("{")) {
    const e = fromStorageResponse(status, body);
    if (e.code !== "unexpected_response") return e;
  }
  const coded = body.match(/^([a-z][a-z_]+): (.*)$/s);
  if (coded) return new StowageError(coded[1] as StowageErrorCode, coded[2], status, { body });
  const code: StowageErrorCode = status === 413
    ? "file_too_large"
    : status === 415
    ? "unsupported_media_type"
    : "storage_error";
  return new StowageError(code, `${what}: ${body || `HTTP ${status}`}`, status, { body });
}

/** How {@link startResumable} gets (and renews) the reservation and frees it on failure. */
export interface ReservationSource<R extends ResumableReservation> {
  /** Reserves (again, for a fresh signature): `POST /uploads` with `resumable: true`. */
  reserve(signal?: AbortSignal): Promise<R>;
  /** Frees the reservation after a failure (must not throw). */
  cancel(): Promise<unknown>;
}

/** Signatures this close to their expiry are renewed before resuming (5 minutes). */
const RENEW_MS = 5 * 60 * 1000;

/**
 * Reserves, then uploads `file` with TUS; returns at once with a handle.
 * Resumes an earlier upload of the same file to the same key found in the URL storage.
 */
export function startResumable<R extends ResumableReservation>(
  file: Blob,
  source: ReservationSource<R>,
  options: ResumableOptions = {},
): UploadHandle<R> {
  let state: UploadState = "reserving";
  let resumedFrom = 0;
  let upload: tus.Upload | null = null;
  let reservation: R | null = null;
  let wantPaused = false;
  let headSeen = false;
  let settle!: { resolve: (r: R) => void; reject: (e: StowageError) => void };
  const done = new Promise<R>((resolve, reject) => settle = { resolve, reject });
  const reserving = new AbortController();

  const ended = () => state === "done" || state === "failed";
  const fail = async (error: StowageError) => {
    if (ended()) return;
    state = "failed";
    const cancelError = await source.cancel();
    settle.reject(
      cancelError
        ? new StowageError(error.code, error.message, error.status, {
          ...(typeof error.details === "object" ? error.details : {}),
          cancelError: String(cancelError),
        }, error)
        : error,
    );
  };

  const go = () => {
    state = "uploading";
    upload!.start();
  };

  (async () => {
    reservation = await source.reserve(reserving.signal);
    const r = reservation.resumable;
    const total = file.size;
    const key = reservation.key;
    upload = new tus.Upload(file, {
      endpoint: r.endpoint,
      headers: { ...r.headers },
      chunkSize: r.chunkSize,
      metadata: { ...r.metadata },
      uploadSize: total,
      removeFingerprintOnSuccess: true,
      ...(options.urlStorage ? { urlStorage: options.urlStorage } : {}),
      ...(options.retryDelays ? { retryDelays: options.retryDelays } : {}),
      ...(typeof XMLHttpRequest === "function" ? {} : { fileReader: blobReader }),
      fingerprint: (f) => Promise.resolve(fingerprintOf(key, f) as string),
      onProgress: (sent) => options.onProgress?.(progress(sent, total)),
      onAfterResponse: (req, res) => {
        if (req.getMethod() === "HEAD" && !headSeen) {
          headSeen = true;
          if (res.getStatus() === 200) resumedFrom = Number(res.getHeader("Upload-Offset")) || 0;
        }
      },
      onSuccess: () => {
        if (ended()) return;
        state = "done";
        options.onProgress?.(progress(total, total));
        settle.resolve(reservation!);
      },
      onError: (error) => void fail(fromTusError(error)),
    });
    const previous = await upload.findPreviousUploads().catch(() => []);
    const same = previous.find((p) => p.size === total && p.uploadUrl);
    // tus-js-client asks the server for the offset (HEAD) and, when the upload is gone
    // (finished, lapsed or refused: 404), forgets it and creates a new one.
    if (same) upload.resumeFromPreviousUpload(same);
    options.onProgress?.(progress(0, total));
    if (ended()) return;
    if (wantPaused) state = "paused";
    else go();
  })().catch((error) => fail(fromTusError(error, reserving.signal.aborted)));

  return {
    done,
    get state() {
      return state;
    },
    get resumedFrom() {
      return resumedFrom;
    },
    async pause() {
      if (state === "reserving") {
        wantPaused = true;
        return;
      }
      if (state !== "uploading") return;
      state = "paused";
      await upload!.abort(false);
    },
    resume() {
      wantPaused = false;
      if (state !== "paused" || !upload || !reservation) return;
      state = "uploading";
      if (Date.parse(reservation.expiresAt) - Date.now() > RENEW_MS) return go();
      source.reserve().then((fresh) => {
        reservation = fresh;
        upload!.options.headers = { ...fresh.resumable.headers };
        go();
      }, (error) => fail(fromTusError(error)));
    },
    async abort() {
      if (ended()) return;
      reserving.abort();
      if (upload) {
        await upload.abort(upload.url !== null).catch(() => {});
        await fail(new StowageError("aborted", "Cannot upload the file: aborted", 0));
      }
      await done.catch(() => {});
    },
  };
}

/**
 * A URL storage in memory, for one process (Deno, Node, a worker): uploads paused or broken
 * off continue while the process lives. Browsers get localStorage by default.
 */
export function memoryUrlStorage(): UrlStorage {
  const entries = new Map<string, PreviousUpload & { fingerprint: string }>();
  let n = 0;
  return {
    findAllUploads: () => Promise.resolve([...entries.values()]),
    findUploadsByFingerprint: (fingerprint) =>
      Promise.resolve([...entries.values()].filter((e) => e.fingerprint === fingerprint)),
    removeUpload: (key) => {
      entries.delete(key);
      return Promise.resolve();
    },
    addUpload: (fingerprint, upload) => {
      const urlStorageKey = `tus::${fingerprint}::${++n}`;
      entries.set(urlStorageKey, { ...upload, urlStorageKey, fingerprint });
      return Promise.resolve(urlStorageKey);
    },
  };
}
