/**
 * @module The Storage API calls of a migration, as the service role: streamed uploads
 * with a Content-Length (so the server enforces the bucket's size limit: a chunked
 * body is not checked, STORAGE_API_FACTS §1.1), read-back for `--verify full`, removal.
 *
 * Uploads go through `node:http` because `fetch` drops Content-Length on stream bodies.
 * Large files go resumably with TUS (`uploadResumable`, tus.ts).
 */
import http from "node:http";
import https from "node:https";
import { createHash, type Hash } from "node:crypto";
import type * as tus from "tus-js-client";
import { FileUrlStorage, uploadResumable } from "./tus.ts";
import { storageAuthHeaders } from "../lib/connection.ts";

/** A refused or failed Storage API call. */
export class StorageError extends Error {
  /** Storage's `code` (`KeyAlreadyExists`, `EntityTooLarge`...) or ours (`network_error`, `source_changed`). */
  readonly code: string;
  /** The semantic status (Storage's body `statusCode`, else the HTTP status; 0 for network errors). */
  readonly status: number;
  /** Whether trying again may succeed. */
  readonly transient: boolean;

  constructor(
    code: string,
    status: number,
    message: string,
    transient: boolean,
    cause?: unknown,
  ) {
    super(message, { cause });
    this.name = "StorageError";
    this.code = code;
    this.status = status;
    this.transient = transient;
  }
}

/** Statuses worth retrying: server errors, lock timeouts, rate limits, DB timeouts. */
function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408 || status === 423;
}

/** Builds a {@link StorageError} from a Storage API answer (HTTP 400 with the real status in the body). */
export function storageErrorFrom(
  httpStatus: number,
  text: string,
  what: string,
): StorageError {
  let body: {
    statusCode?: string;
    code?: string;
    error?: string;
    message?: string;
  } = {};
  try {
    body = JSON.parse(text);
  } catch {
    body = { message: text.slice(0, 200) };
  }
  const status = Number(body.statusCode ?? httpStatus) || httpStatus;
  const code = body.code ?? body.error ?? `http_${httpStatus}`;
  return new StorageError(
    code,
    status,
    `Cannot ${what}: ${status} ${code}: ${body.message ?? ""}`.trim(),
    isTransientStatus(status),
  );
}

/** Hashes of the bytes an upload sent. */
export interface SentDigest {
  md5: string;
  sha256?: string;
}

/** `a/b c.mp3` -> `a/b%20c.mp3`: each segment encoded, so `+`, `&`, spaces survive the URL. */
export function encodeKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

/** Storage API access with a backend's key (secret key, or the legacy service_role key). */
export class StorageApi {
  readonly #base: string;
  readonly #key: string;
  readonly #idleMs: number;
  readonly #urlStorage: tus.UrlStorage;

  /**
   * @param url project URL (`http://127.0.0.1:54321`)
   * @param secretKey a secret key (`sb_secret_...`, sent as `apikey` only) or the
   *   legacy service_role JWT
   * @param options `idleTimeoutMs`: an upload whose socket sees no traffic this long fails
   *   as a transient `network_error` (retried) instead of hanging the run (default 120 s);
   *   `tusState`: the JSON file where resumable uploads' URLs are kept, so a later run
   *   continues them (default: kept in memory, for retries within the run)
   */
  constructor(
    url: string,
    secretKey: string,
    options: { idleTimeoutMs?: number; tusState?: string } = {},
  ) {
    this.#base = `${url.replace(/\/+$/, "")}/storage/v1`;
    this.#key = secretKey;
    this.#idleMs = options.idleTimeoutMs ?? 120_000;
    this.#urlStorage = new FileUrlStorage(options.tusState ?? null);
  }

  /**
   * Uploads `body` (exactly `size` bytes) resumably with TUS in 6 MiB chunks, hashing what
   * is sent; an earlier upload under the same `fingerprint` (this run's failed attempt, or an
   * interrupted run with the same `tusState`) continues from the server's offset.
   * @throws StorageError (`source_changed` when the source yields another size)
   */
  uploadResumable(
    bucket: string,
    key: string,
    body: ReadableStream<Uint8Array>,
    opts: {
      size: number;
      contentType: string;
      upsert: boolean;
      sha256: boolean;
      fingerprint: string;
      onBytes?: (n: number) => void;
      onResume?: (offset: number) => void;
    },
  ): Promise<SentDigest> {
    return uploadResumable({
      ...opts,
      storageBase: this.#base,
      serviceKey: this.#key,
      bucket,
      key,
      body,
      urlStorage: this.#urlStorage,
    });
  }

  /**
   * Streams `body` (exactly `size` bytes) to `bucket/key`, hashing what is sent.
   * @throws StorageError (`source_changed` when the source yields another size)
   */
  upload(
    bucket: string,
    key: string,
    body: ReadableStream<Uint8Array>,
    opts: {
      size: number;
      contentType: string;
      upsert: boolean;
      sha256: boolean;
      onBytes?: (n: number) => void;
    },
  ): Promise<SentDigest> {
    const url = new URL(
      `${this.#base}/object/${encodeURIComponent(bucket)}/${encodeKey(key)}`,
    );
    const md5 = createHash("md5");
    const sha = opts.sha256 ? createHash("sha256") : null;
    const headers = {
      ...storageAuthHeaders(this.#key),
      "content-type": opts.contentType,
      "content-length": String(opts.size),
      "cache-control": "max-age=3600",
      "x-upsert": opts.upsert ? "true" : "false",
    };
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (e: unknown) => {
        if (settled) return;
        settled = true;
        reject(
          e instanceof StorageError ? e : new StorageError(
            "network_error",
            0,
            `Cannot upload "${key}": ${String(e)}`,
            true,
            e,
          ),
        );
      };
      const mod = url.protocol === "https:" ? https : http;
      const req = mod.request(url, { method: "POST", headers }, (res) => {
        const chunks: Uint8Array[] = [];
        res.on("data", (c: Uint8Array) => chunks.push(c));
        res.on("error", fail);
        res.on("end", () => {
          const text = new TextDecoder().decode(concat(chunks));
          const status = res.statusCode ?? 0;
          if (status !== 200) {
            return fail(storageErrorFrom(status, text, `upload "${key}"`));
          }
          if (settled) return;
          settled = true;
          resolve({
            md5: md5.digest("hex"),
            ...(sha ? { sha256: sha.digest("hex") } : {}),
          });
        });
      });
      req.on("error", fail);
      req.setTimeout(this.#idleMs, () => {
        req.destroy(new Error(`no traffic for ${this.#idleMs} ms`));
      });
      pump(body, req, opts.size, [md5, sha], opts.onBytes).catch((e) => {
        req.destroy();
        fail(e);
      });
    });
  }

  /** SHA-256 of the stored object's bytes, read back through the API. */
  sha256(bucket: string, key: string): Promise<string> {
    return this.digest(bucket, key, "sha256");
  }

  /** Hex digest (`md5` or `sha256`) of the stored object's bytes, read back (streamed). */
  async digest(
    bucket: string,
    key: string,
    algorithm: "md5" | "sha256",
  ): Promise<string> {
    const res = await this.#fetch(
      `/object/authenticated/${encodeURIComponent(bucket)}/${encodeKey(key)}`,
      { method: "GET" },
      `read back "${key}"`,
    );
    const hash = createHash(algorithm);
    for await (const chunk of res.body!) hash.update(chunk);
    return hash.digest("hex");
  }

  /** Deletes objects (exact keys, <= 1000). */
  async remove(bucket: string, keys: string[]): Promise<void> {
    const res = await this.#fetch(`/object/${encodeURIComponent(bucket)}`, {
      method: "DELETE",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prefixes: keys }),
    }, `delete ${keys.length} object(s)`);
    await res.body?.cancel();
  }

  async #fetch(
    path: string,
    init: RequestInit,
    what: string,
  ): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.#base + path, {
        ...init,
        headers: {
          ...init.headers as Record<string, string>,
          ...storageAuthHeaders(this.#key),
        },
      });
    } catch (error) {
      throw new StorageError(
        "network_error",
        0,
        `Cannot ${what}: ${String(error)}`,
        true,
        error,
      );
    }
    if (!res.ok) throw storageErrorFrom(res.status, await res.text(), what);
    return res;
  }
}

async function pump(
  body: ReadableStream<Uint8Array>,
  req: http.ClientRequest,
  size: number,
  hashes: (Hash | null)[],
  onBytes?: (n: number) => void,
): Promise<void> {
  const reader = body.getReader();
  let sent = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      sent += value.byteLength;
      if (sent > size) break;
      for (const h of hashes) h?.update(value);
      onBytes?.(value.byteLength);
      if (!req.write(value)) await drained(req);
      if (req.destroyed) return;
    }
  } finally {
    reader.releaseLock();
  }
  if (sent !== size) {
    await body.cancel().catch(() => {});
    throw new StorageError(
      "source_changed",
      0,
      `Source has ${
        sent > size ? "more than" : "only"
      } ${sent} bytes, planned ${size}: run the plan again`,
      false,
    );
  }
  req.end();
}

/**
 * Waits until the request can take more (`drain`) or is gone (`close`). Both listeners are
 * removed whichever fires: a `once` left behind per wait piled up `close` listeners on a
 * long upload (Node's MaxListenersExceededWarning flooding the progress output).
 */
function drained(req: http.ClientRequest): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      req.off("drain", done);
      req.off("close", done);
      resolve();
    };
    req.on("drain", done);
    req.on("close", done);
  });
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
