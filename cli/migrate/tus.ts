/**
 * @module Resumable (TUS) uploads of large files for `stowage migrate`, with tus-js-client
 * against the Storage API's TUS endpoint (`/storage/v1/upload/resumable`, as the service role):
 * 6 MiB chunks, so a dropped connection costs one chunk, not the file. The upload URL of each
 * file is kept in a small JSON file beside the journal (by source version and target), so a
 * retry, or a later run after an interruption, continues where the server stopped: the bytes
 * before that offset are read from the source again (to hash them) but not sent.
 */
import * as tus from "tus-js-client";
import { createHash, type Hash } from "node:crypto";
import { type SentDigest, StorageError, storageErrorFrom } from "./storage-api.ts";
import { storageAuthHeaders } from "../lib/connection.ts";

/** The chunk size Supabase Storage requires of TUS clients. */
export const TUS_CHUNK_SIZE = 6 * 1024 * 1024;
/** Files above this size go with TUS unless `--resumable-above` says otherwise. */
export const DEFAULT_RESUMABLE_ABOVE = 6 * 1024 * 1024;

/**
 * Serves tus-js-client's slices from a web stream read once, in order: every byte is hashed as
 * it is read, the bytes before a resumed offset are read and hashed but not sent, and the last
 * slice is kept so a failed chunk can be sent again.
 *
 * The bytes are read into one buffer per upload, reused for every chunk: a byte stream (a local
 * file) is read straight into it (BYOB), any other stream's chunks are copied in. A slice is a
 * view of that buffer, valid until the next call; tus-js-client asks for the next slice only
 * once the previous chunk's request is over. Before, every chunk cost two new 6 MiB buffers
 * (the chunks joined, then the slice copied out); they are freed only by a GC, which the engine
 * starts late for memory outside its heap, so the process grew by tens of MiB per file in flight.
 */
export class StreamSlices {
  readonly size: number;
  readonly #reader: ReadableStreamBYOBReader | ReadableStreamDefaultReader<Uint8Array>;
  readonly #byob: boolean;
  readonly #hashes: Hash[];
  /** Bytes #from..#read of the source, at the start of the buffer. */
  #buf: Uint8Array<ArrayBuffer>;
  #from = 0;
  #read = 0;
  #ended = false;
  /** Set when the source is not the size planned. */
  failure: StorageError | null = null;

  /**
   * @param chunkSize the largest slice asked for: the buffer's size (it grows only when a
   *   non-byte stream yields chunks that do not fit)
   */
  constructor(stream: ReadableStream<Uint8Array>, size: number, hashes: Hash[], chunkSize: number) {
    this.size = size;
    this.#hashes = hashes;
    let byob: ReadableStreamBYOBReader | null = null;
    try {
      byob = stream.getReader({ mode: "byob" });
    } catch {
      // Not a byte stream: its chunks are copied into the buffer.
    }
    this.#byob = byob !== null;
    this.#reader = byob ?? stream.getReader();
    // One byte more than a chunk: reading it tells the last slice whether the source has more.
    this.#buf = new Uint8Array(Math.min(chunkSize, size) + 1);
  }

  /** Whether the stream is read straight into the buffer. */
  get byob(): boolean {
    return this.#byob;
  }

  async slice(
    start: number,
    end: number,
  ): Promise<{ value: Uint8Array; done: boolean }> {
    end = Math.min(end, this.size);
    if (start < this.#from) {
      throw new StorageError(
        "tus_offset",
        0,
        `Cannot go back to byte ${start} of the source`,
        true,
      );
    }
    for (;;) {
      this.#drop(start);
      if (this.#from === start && this.#read >= end) break;
      // Skipping to a resumed offset: read (and hash) up to it; else up to the slice's end.
      await this.#pull(this.#from === start ? end - this.#read : start - this.#read);
    }
    if (end === this.size) await this.#expectEnd();
    return {
      value: Object.assign(this.#buf.subarray(0, end - start), { size: end - start }),
      done: end >= this.size,
    };
  }

  /** Forgets the bytes before `offset` (all of them when it is past what was read). */
  #drop(offset: number): void {
    if (offset <= this.#from) return;
    const keep = Math.max(this.#read - offset, 0);
    if (keep > 0) this.#buf.copyWithin(0, offset - this.#from, this.#read - this.#from);
    this.#from = this.#read - keep;
  }

  /** Reads at most `want` more bytes (a non-byte stream: one chunk, however long) after #read. */
  async #pull(want: number): Promise<void> {
    const at = this.#read - this.#from;
    let bytes: Uint8Array;
    if (this.#byob) {
      this.#makeRoom(at + 1);
      const room = Math.min(want, this.#buf.length - at);
      const { value, done } = await (this.#reader as ReadableStreamBYOBReader)
        .read(new Uint8Array(this.#buf.buffer, at, room));
      if (done || !value) throw this.#changed(this.#read);
      // The read hands the buffer back under a new ArrayBuffer object.
      this.#buf = new Uint8Array(value.buffer as ArrayBuffer);
      bytes = value;
    } else {
      const { value, done } = await (this.#reader as ReadableStreamDefaultReader<Uint8Array>)
        .read();
      if (done) throw this.#changed(this.#read);
      this.#makeRoom(at + value.byteLength);
      this.#buf.set(value, at);
      bytes = value;
    }
    if (this.#read + bytes.byteLength > this.size) {
      throw this.#changed(this.#read + bytes.byteLength);
    }
    for (const h of this.#hashes) h.update(bytes);
    this.#read += bytes.byteLength;
  }

  /**
   * Grows the buffer to hold at least `bytes` (keeping the window): only for a slice larger
   * than the chunk size given, or a non-byte stream's chunk that does not fit.
   */
  #makeRoom(bytes: number): void {
    if (bytes <= this.#buf.length) return;
    const grown = new Uint8Array(Math.max(bytes, 2 * this.#buf.length));
    grown.set(this.#buf.subarray(0, this.#read - this.#from));
    this.#buf = grown;
  }

  /** Refuses a source that has more bytes than planned (it was read up to the size). */
  async #expectEnd(): Promise<void> {
    if (this.#ended) return;
    const at = this.#read - this.#from;
    if (this.#byob) this.#makeRoom(at + 1);
    const { value, done } = this.#byob
      ? await (this.#reader as ReadableStreamBYOBReader)
        .read(new Uint8Array(this.#buf.buffer, at, 1))
      : await (this.#reader as ReadableStreamDefaultReader<Uint8Array>).read();
    if (this.#byob && value) this.#buf = new Uint8Array(value.buffer as ArrayBuffer);
    if (!done && value && value.byteLength > 0) throw this.#changed(this.size + value.byteLength);
    if (!done) return await this.#expectEnd();
    this.#ended = true;
  }

  #changed(seen: number): StorageError {
    this.failure = new StorageError(
      "source_changed",
      0,
      `Source has ${
        seen > this.size ? "more than" : "only"
      } ${seen} bytes, planned ${this.size}: run the plan again`,
      false,
    );
    return this.failure;
  }

  close(): void {
    this.#reader.cancel().catch(() => {});
  }
}

/** tus-js-client's URL storage in a JSON file, or in memory (one process; writes are serialized). */
export class FileUrlStorage implements tus.UrlStorage {
  readonly #path: string | null;
  #entries:
    | Record<string, tus.PreviousUpload & { fingerprint: string }>
    | null = null;
  #writing: Promise<void> = Promise.resolve();
  #n = 0;

  /** @param path the JSON file (created when the first upload is remembered); null: memory only */
  constructor(path: string | null) {
    this.#path = path;
  }

  async #load() {
    if (this.#entries) return this.#entries;
    if (this.#path === null) return this.#entries = {};
    try {
      this.#entries = JSON.parse(await Deno.readTextFile(this.#path));
    } catch {
      this.#entries = {};
    }
    return this.#entries!;
  }

  #save(): Promise<void> {
    const path = this.#path;
    if (path === null) return Promise.resolve();
    const text = JSON.stringify(this.#entries, null, 1) + "\n";
    this.#writing = this.#writing.then(() => Deno.writeTextFile(path, text));
    return this.#writing;
  }

  async findAllUploads(): Promise<tus.PreviousUpload[]> {
    return Object.values(await this.#load());
  }

  async findUploadsByFingerprint(
    fingerprint: string,
  ): Promise<tus.PreviousUpload[]> {
    return Object.values(await this.#load()).filter((e) => e.fingerprint === fingerprint);
  }

  async removeUpload(key: string): Promise<void> {
    const entries = await this.#load();
    if (!(key in entries)) return;
    delete entries[key];
    await this.#save();
  }

  async addUpload(
    fingerprint: string,
    upload: tus.PreviousUpload,
  ): Promise<string> {
    const entries = await this.#load();
    const key = `tus::${fingerprint}::${Date.now()}-${++this.#n}`;
    entries[key] = { ...upload, urlStorageKey: key, fingerprint };
    await this.#save();
    return key;
  }
}

/** One resumable upload. */
export interface TusUpload {
  /** `<project>/storage/v1` */
  storageBase: string;
  serviceKey: string;
  bucket: string;
  key: string;
  body: ReadableStream<Uint8Array>;
  size: number;
  contentType: string;
  upsert: boolean;
  sha256: boolean;
  /** Identifies this source version and target: an upload stored under it is continued. */
  fingerprint: string;
  urlStorage: tus.UrlStorage;
  onBytes?: (n: number) => void;
  /** Called when the upload continues an earlier one, with the server's offset. */
  onResume?: (offset: number) => void;
}

/** Maps tus-js-client's failure to a {@link StorageError} (transient for 5xx, 408/423/429, network). */
function errorOf(error: unknown, key: string): StorageError {
  if (error instanceof StorageError) return error;
  const response = (error as tus.DetailedError | null)?.originalResponse ??
    null;
  if (!response) {
    const cause = (error as tus.DetailedError | null)?.causingError ?? error;
    return new StorageError(
      "network_error",
      0,
      `Cannot upload "${key}": ${cause instanceof Error ? cause.message : String(cause)}`,
      true,
      error,
    );
  }
  const status = response.getStatus();
  const text = (response.getBody() ?? "").trim();
  const e = storageErrorFrom(status, text, `upload "${key}" (TUS)`);
  if (status === 409) {
    return new StorageError("KeyAlreadyExists", 409, e.message, false, error);
  }
  const coded = text.match(/^([a-z][a-z_]+): /);
  return coded ? new StorageError(coded[1], status, e.message, e.transient, error) : e;
}

/**
 * Uploads with TUS in 6 MiB chunks, hashing what the source yields; continues an earlier upload
 * stored under the same fingerprint. tus-js-client does not retry here: the executor does, and
 * its retry continues from the server's offset.
 * @throws StorageError (`source_changed` when the source yields another size)
 */
export function uploadResumable(u: TusUpload): Promise<SentDigest> {
  const md5 = createHash("md5");
  const sha = u.sha256 ? createHash("sha256") : null;
  const source = new StreamSlices(u.body, u.size, sha ? [md5, sha] : [md5], TUS_CHUNK_SIZE);
  let reported = 0;
  let headSeen = false;
  return new Promise<SentDigest>((resolve, reject) => {
    // The "file" is only handed to our fileReader, which serves the slices from the stream.
    const unread = { read: () => Promise.reject(new Error("read through the fileReader")) };
    const upload = new tus.Upload(unread, {
      endpoint: `${u.storageBase}/upload/resumable`,
      headers: {
        ...storageAuthHeaders(u.serviceKey),
        "x-upsert": u.upsert ? "true" : "false",
      },
      chunkSize: TUS_CHUNK_SIZE,
      uploadSize: u.size,
      metadata: {
        bucketName: u.bucket,
        objectName: u.key,
        contentType: u.contentType,
        cacheControl: "3600",
      },
      retryDelays: [],
      urlStorage: u.urlStorage,
      removeFingerprintOnSuccess: true,
      fingerprint: () => Promise.resolve(u.fingerprint),
      fileReader: { openFile: () => Promise.resolve(source) },
      onAfterResponse(req, res) {
        if (req.getMethod() !== "HEAD" || headSeen) return;
        headSeen = true;
        const offset = Number(res.getHeader("Upload-Offset"));
        if (res.getStatus() === 200 && offset > 0) u.onResume?.(offset);
      },
      onProgress(sent) {
        if (sent > reported) {
          u.onBytes?.(sent - reported);
          reported = sent;
        }
      },
      onSuccess() {
        source.close();
        if (reported < u.size) u.onBytes?.(u.size - reported);
        resolve({
          md5: md5.digest("hex"),
          ...(sha ? { sha256: sha.digest("hex") } : {}),
        });
      },
      onError(error) {
        source.close();
        reject(source.failure ?? errorOf(error, u.key));
      },
    });
    upload.findPreviousUploads().then((previous) => {
      const same = previous.find((p) => p.size === u.size && p.uploadUrl);
      if (same) upload.resumeFromPreviousUpload(same);
      upload.start();
    }, (error) => reject(errorOf(error, u.key)));
  });
}
