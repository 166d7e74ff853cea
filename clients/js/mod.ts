/**
 * @module The Stowage client for frontends: typed calls to the storage and
 * assistants functions, uploads straight to Supabase Storage with progress,
 * and one error class, {@link StowageError}.
 *
 * @example
 * import { createClient } from "@supabase/supabase-js";
 * import { createStowage } from "@stowage/client";
 * const supabase = createClient("https://<project>.supabase.co", "<anon key>");
 * const stowage = createStowage({ url: "https://<project>.supabase.co", supabase });
 * await stowage.upload(file, { bucket: "audiofiles", path: `book/1/1/${file.name}`,
 *   onProgress: (p) => bar.value = p.fraction });
 * // Large files (above 6 MiB) go resumably (TUS); to pause and resume, start them:
 * const handle = stowage.startUpload(file, { bucket: "audiofiles", path: file.name });
 * pause.onclick = () => handle.state === "paused" ? handle.resume() : handle.pause();
 * await handle.done;
 */
import { type AssistantsClient, assistantsClient } from "./assistants.ts";
import {
  type SupabaseAuthClient,
  supabaseTokens,
  type TokenSource,
  type Transport,
} from "./http.ts";
import type { UploadHandle, UrlStorage } from "./resumable.ts";
import * as storage from "./storage.ts";
import type {
  DeleteObjectsRequest,
  DeleteObjectsResponse,
  DownloadsRequest,
  DownloadsResponse,
  ListPage,
  ListQuery,
  Quota,
} from "./types.ts";

export { StowageError, type StowageErrorCode } from "./errors.ts";
export type { Progress } from "./put.ts";
export {
  memoryUrlStorage,
  RESUMABLE_THRESHOLD,
  type UploadHandle,
  type UploadState,
  type UrlStorage,
} from "./resumable.ts";
export type { SupabaseAuthClient, TokenSource } from "./http.ts";
export type { AssistantsClient } from "./assistants.ts";
export type {
  DeleteFolderOptions,
  FolderProgress,
  ManyFile,
  ResumableConfig,
  UploadManyOptions,
  UploadManyResult,
  UploadOptions,
  UploadResult,
} from "./storage.ts";
export type * from "./types.ts";

/** Where the client takes the user's access token: a supabase-js client, or a function. */
export type StowageAuth =
  | {
    /**
     * The app's supabase-js client (`createClient(...)`): its session's access token is read
     * before every call (`auth.getSession()`, which refreshes a session about to expire), and
     * a call refused with 401 is retried once after `auth.refreshSession()`.
     */
    supabase: SupabaseAuthClient;
    getToken?: never;
  }
  | {
    /**
     * The access token, asked for before every call (for apps that hold the session
     * elsewhere, backends, scripts). A 401 is thrown as is. A backend may return its secret
     * key (`sb_secret_...`): it is sent as `apikey`, never as `Bearer`; a legacy service_role
     * JWT is sent as `Bearer`.
     */
    getToken: TokenSource;
    supabase?: never;
  };

/** Options of {@link createStowage}: where the project is, and {@link StowageAuth}. */
export type StowageOptions = StowageAuth & StowageSettings;

/** The settings of {@link createStowage} besides the token's source. */
export interface StowageSettings {
  /** The Supabase project URL (e.g. `http://127.0.0.1:54321`); functions live at `/functions/v1`. */
  url: string;
  /**
   * Sent as `apikey` when set: the project's publishable key (`sb_publishable_...`; a legacy
   * anon key is still accepted). Never a secret key in a browser: the platform refuses it.
   */
  apiKey?: string;
  /** Override the functions' base URL (default `<url>/functions/v1`). */
  functionsUrl?: string;
  /** A fetch to use (default the global one). */
  fetch?: typeof fetch;
  /** Files above this many bytes upload resumably (TUS) unless `resumable` says (default 6 MiB). */
  resumableThreshold?: number;
  /**
   * Where resumable uploads are remembered, to continue one after a page reload
   * (tus-js-client's URL storage; default localStorage in a browser, none elsewhere).
   */
  urlStorage?: UrlStorage;
  /** Delays in ms between tus-js-client's retries of a failed chunk (default `[0, 1000, 3000, 5000]`). */
  retryDelays?: number[];
}

/** The client: every method throws {@link StowageError} on failure. */
export interface Stowage {
  /**
   * Reserves quota, then PUTs the file to its signed URL, reporting progress; a file above
   * `resumableThreshold` (or with `resumable: true`) goes with TUS in 6 MiB chunks.
   */
  upload(file: Blob, options: storage.UploadOptions): Promise<storage.UploadResult>;
  /**
   * Starts a resumable (TUS) upload; the handle pauses, resumes and aborts it, and
   * `handle.done` gives the result. An unfinished upload of the same File to the same path
   * (remembered in `urlStorage`) continues where it stopped.
   */
  startUpload(file: Blob, options: storage.UploadOptions): UploadHandle<storage.UploadResult>;
  /** Reserves up to 100 files all-or-nothing, then PUTs them in parallel. */
  uploadMany(
    files: storage.ManyFile[],
    options: storage.UploadManyOptions,
  ): Promise<storage.UploadManyResult>;
  /** One page of a folder: files, subfolders (one level) and `nextCursor`. */
  list(query: ListQuery, signal?: AbortSignal): Promise<ListPage>;
  /** Every page of a folder, as an async iterator: `for await (const page of listAll(q))`. */
  listAll(query: Omit<ListQuery, "cursor">, signal?: AbortSignal): AsyncGenerator<ListPage>;
  /** Deletes up to 1,000 files. */
  deleteFiles(body: DeleteObjectsRequest): Promise<DeleteObjectsResponse>;
  /** Deletes everything below a folder, calling until done, reporting progress. */
  deleteFolder(options: storage.DeleteFolderOptions): Promise<storage.FolderProgress>;
  /** Signed download links, one per path (a URL or an error), in input order. */
  downloadUrls(body: DownloadsRequest): Promise<DownloadsResponse["urls"]>;
  /** The caller's plan, quota and usage. */
  quota(): Promise<Quota>;
  /** The assistant reverse mapping and course positions. */
  assistants: AssistantsClient;
}

/**
 * Creates a client.
 * @throws TypeError when `url` is not an absolute URL, or neither `supabase` nor `getToken`
 *   is given
 */
export function createStowage(options: StowageOptions): Stowage {
  const base = new URL(options.url);
  let tokens: Pick<Transport, "getToken" | "refreshToken">;
  if (options.supabase) tokens = supabaseTokens(options.supabase);
  else if (typeof options.getToken === "function") tokens = { getToken: options.getToken };
  else {
    throw new TypeError(
      "createStowage needs `supabase` (a supabase-js client) or `getToken` (a function)",
    );
  }
  const t: Transport = {
    functionsUrl: options.functionsUrl ??
      `${base.origin}${base.pathname.replace(/\/+$/, "")}/functions/v1`,
    ...tokens,
    apiKey: options.apiKey,
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
  };
  const resumable: storage.ResumableConfig = {
    threshold: options.resumableThreshold,
    urlStorage: options.urlStorage,
    retryDelays: options.retryDelays,
  };
  return {
    upload: (file, o) => storage.upload(t, file, o, resumable),
    startUpload: (file, o) => storage.startUpload(t, file, o, resumable),
    uploadMany: (files, o) => storage.uploadMany(t, files, o, resumable),
    list: (q, signal) => storage.list(t, q, signal),
    listAll: (q, signal) => storage.listAll(t, q, signal),
    deleteFiles: (body) => storage.deleteFiles(t, body),
    deleteFolder: (o) => storage.deleteFolder(t, o),
    downloadUrls: (body) => storage.downloadUrls(t, body),
    quota: () => storage.quota(t),
    assistants: assistantsClient(t),
  };
}
