/**
 * @module The byte transfer of an upload: one PUT of the file to the signed
 * upload URL, straight to Supabase Storage. In a browser it uses
 * XMLHttpRequest, the only web API that reports upload progress; elsewhere
 * (Deno, Node, workers without XHR) it uses fetch and reports 0 % then 100 %.
 */
import { fromNetworkFailure, fromStorageResponse, StowageError } from "./errors.ts";

/** Progress of one transfer. */
export interface Progress {
  /** Bytes sent so far. */
  loaded: number;
  /** Bytes to send. */
  total: number;
  /** loaded / total, 0..1 (1 for an empty file once sent). */
  fraction: number;
}

/** How to PUT one file. */
export interface PutOptions {
  signedUrl: string;
  body: Blob;
  /** The exact Content-Type the reservation declared. */
  contentType: string;
  upsert: boolean;
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
  fetch: typeof fetch;
}

function progress(loaded: number, total: number): Progress {
  return { loaded, total, fraction: total === 0 ? 1 : Math.min(1, loaded / total) };
}

function putWithXhr(options: PutOptions): Promise<void> {
  const what = "Cannot upload the file";
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", options.signedUrl);
    xhr.setRequestHeader("content-type", options.contentType);
    xhr.setRequestHeader("x-upsert", String(options.upsert));
    xhr.setRequestHeader("cache-control", "max-age=3600");
    const total = options.body.size;
    xhr.upload.onprogress = (e) => options.onProgress?.(progress(e.loaded, total));
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        options.onProgress?.(progress(total, total));
        resolve();
      } else {
        reject(fromStorageResponse(xhr.status, xhr.responseText));
      }
    };
    xhr.onerror = () => reject(new StowageError("network_error", `${what}: network error`, 0));
    xhr.onabort = () => reject(new StowageError("aborted", `${what}: aborted`, 0));
    if (options.signal) {
      if (options.signal.aborted) return reject(new StowageError("aborted", `${what}: aborted`, 0));
      options.signal.addEventListener("abort", () => xhr.abort(), { once: true });
    }
    options.onProgress?.(progress(0, total));
    xhr.send(options.body);
  });
}

async function putWithFetch(options: PutOptions): Promise<void> {
  const total = options.body.size;
  options.onProgress?.(progress(0, total));
  let response: Response;
  let text: string;
  try {
    response = await options.fetch(options.signedUrl, {
      method: "PUT",
      headers: {
        "content-type": options.contentType,
        "x-upsert": String(options.upsert),
        "cache-control": "max-age=3600",
      },
      body: options.body,
      signal: options.signal,
    });
    text = await response.text();
  } catch (error) {
    throw fromNetworkFailure(error, "Cannot upload the file");
  }
  if (!response.ok) throw fromStorageResponse(response.status, text);
  options.onProgress?.(progress(total, total));
}

/**
 * PUTs a file to a signed upload URL.
 * @throws StowageError: the Storage API's refusal (`upload_too_large`,
 *   `unsupported_media_type`, `no_reservation`, `storage_error`...),
 *   `network_error` or `aborted`
 */
export function putToSignedUrl(options: PutOptions): Promise<void> {
  return typeof XMLHttpRequest === "function" ? putWithXhr(options) : putWithFetch(options);
}
