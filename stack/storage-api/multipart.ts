/**
 * @module A streaming `multipart/form-data` reader for uploads, with the limits the real
 * server gives `@fastify/multipart` (1 file, 10 fields): the fields before the first file
 * part are read into memory, the file part is handed out as a stream (memory stays flat).
 */
import { ERRORS } from "./errors.ts";

/** The parsed head of a multipart body. */
export interface MultipartUpload {
  /** Text fields seen before the file part. */
  fields: Map<string, string>;
  /** The file part's own Content-Type (`application/octet-stream` when absent). */
  mimetype: string;
  /** The file part's bytes. */
  stream: ReadableStream<Uint8Array>;
}

const CRLF = new Uint8Array([13, 10]);
const MAX_FIELDS = 10;
const MAX_FIELD_BYTES = 1024 * 1024 + 1024;
const MAX_HEADER_BYTES = 16 * 1024;

/** The boundary of a multipart Content-Type, or `null`. */
export function boundaryOf(contentType: string): string | null {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : null;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0];
  const last = haystack.length - needle.length;
  outer: for (
    let i = haystack.indexOf(first, from);
    i !== -1 && i <= last;
    i = haystack.indexOf(first, i + 1)
  ) {
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Buffered reading of a byte stream up to delimiters. */
class Reader {
  #buf: Uint8Array = new Uint8Array(0);
  #done = false;
  constructor(readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  async #fill(): Promise<boolean> {
    if (this.#done) return false;
    const { value, done } = await this.reader.read();
    if (done) {
      this.#done = true;
      return false;
    }
    this.#buf = concat(this.#buf, value);
    return true;
  }

  /** Reads up to `delim` (consumed, not returned); at most `max` bytes, else throws. */
  async until(delim: Uint8Array, max: number): Promise<Uint8Array> {
    for (;;) {
      const i = indexOf(this.#buf, delim);
      if (i !== -1) {
        const out = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + delim.length);
        return out;
      }
      if (this.#buf.length > max) throw ERRORS.noContent();
      if (!(await this.#fill())) throw ERRORS.noContent();
    }
  }

  /** Reads exactly `n` bytes. */
  async take(n: number): Promise<Uint8Array> {
    while (this.#buf.length < n) if (!(await this.#fill())) throw ERRORS.noContent();
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(n);
    return out;
  }

  /** Streams everything before `delim`; keeps only `delim.length` bytes of look-behind. */
  streamUntil(delim: Uint8Array): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        for (;;) {
          const i = indexOf(this.#buf, delim);
          if (i !== -1) {
            if (i > 0) controller.enqueue(this.#buf.slice(0, i));
            this.#buf = this.#buf.slice(i + delim.length);
            controller.close();
            await this.reader.cancel().catch(() => {});
            return;
          }
          const safe = this.#buf.length - delim.length + 1;
          if (safe > 0) {
            controller.enqueue(this.#buf.slice(0, safe));
            this.#buf = this.#buf.slice(safe);
            return;
          }
          if (!(await this.#fill())) {
            controller.error(ERRORS.noContent());
            return;
          }
        }
      },
      cancel: async () => {
        await this.reader.cancel().catch(() => {});
      },
    });
  }
}

function parseHeaders(raw: Uint8Array): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of new TextDecoder().decode(raw).split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
  }
  return headers;
}

function dispositionParam(disposition: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|;)\\s*${name}="((?:[^"\\\\]|\\\\.)*)"`, "i").exec(disposition) ??
    new RegExp(`(?:^|;)\\s*${name}=([^;]*)`, "i").exec(disposition);
  return m ? m[1] : undefined;
}

/**
 * Reads a multipart body up to its first file part.
 * @throws `InvalidRequest "No content provided"` when there is no file part
 */
export async function readMultipart(
  body: ReadableStream<Uint8Array> | null,
  contentType: string,
): Promise<MultipartUpload> {
  const boundary = boundaryOf(contentType);
  if (!body || !boundary) throw ERRORS.noContent();
  const enc = new TextEncoder();
  const reader = new Reader(body.getReader());
  const dash = enc.encode(`--${boundary}`);
  const delim = enc.encode(`\r\n--${boundary}`);
  const fields = new Map<string, string>();
  await reader.until(dash, 64 * 1024);
  for (let parts = 0;; parts++) {
    const after = await reader.take(2);
    if (after[0] === 45 && after[1] === 45) throw ERRORS.noContent(); // "--": the end, no file
    if (after[0] !== CRLF[0] || after[1] !== CRLF[1]) throw ERRORS.noContent();
    const headers = parseHeaders(await reader.until(enc.encode("\r\n\r\n"), MAX_HEADER_BYTES));
    const disposition = headers.get("content-disposition") ?? "";
    const filename = dispositionParam(disposition, "filename");
    if (filename !== undefined) {
      return {
        fields,
        mimetype: headers.get("content-type") || "application/octet-stream",
        stream: reader.streamUntil(delim),
      };
    }
    const value = await reader.until(delim, MAX_FIELD_BYTES);
    if (parts < MAX_FIELDS) {
      const name = dispositionParam(disposition, "name") ?? "";
      fields.set(name, new TextDecoder().decode(value));
    }
  }
}
