/**
 * @module Replay of the recorded calls (fixtures/observed.json, copied from the real
 * supabase/storage v1.70.6; fixtures/derived.json, answers derived from its source): request
 * building from a record, and the comparison of
 * status, body and headers with ids, timestamps, tokens and ETags masked.
 */

/** One recorded call. */
export interface ObservedRecord {
  id: string;
  name: string;
  method: string;
  path: string;
  headers: [string, string][];
  status: number;
  responseHeaders: string;
  body: string;
  json?: string;
  binary?: string;
  form?: string[];
  /** `<pad>` in `json` stands for this many `x` (bodies too large to store). */
  jsonPad?: number;
  note?: string;
}

/** Names that differ between the recording and this run. */
export interface Names {
  /** Placeholder or recorded literal -> this run's value (e.g. `{A}` -> a uuid). */
  forward: [string | RegExp, string][];
  /** This run's value -> the recorded form, applied to responses before comparing. */
  back: [string | RegExp, string][];
}

/** Applies a list of replacements. */
export function substitute(text: string, pairs: [string | RegExp, string][]): string {
  let out = text;
  for (const [from, to] of pairs) {
    out = typeof from === "string" ? out.replaceAll(from, to) : out.replace(from, to);
  }
  return out;
}

/** Masks what differs run to run: uuids, timestamps, ETags, JWTs, cursors. */
export function mask(text: string): string {
  return text
    .replace(/eyJ[\w-]+\.[\w-]+\.[\w-]*/g, "<JWT>")
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<uuid>")
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, "<ts>")
    .replace(/\\?"[0-9a-f]{32}(-\d+)?\\?"/g, "<etag>")
    .replace(/"nextCursor":"[^"]*"/g, '"nextCursor":"<cursor>"');
}

/** The recorded response headers, by lower-case name. */
export function parseHeaders(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(/; (?=[a-z][a-z-]*: )/)) {
    const i = part.indexOf(": ");
    if (i > 0) out.set(part.slice(0, i).toLowerCase(), part.slice(i + 2));
  }
  return out;
}

/** Base64 of UTF-8 text; `url` gives the unpadded URL-safe form (TUS upload ids). */
export function b64(text: string, url = false): string {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  const out = btoa(bin);
  return url ? out.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "") : out;
}

function unb64(text: string): string {
  const s = text.replaceAll("-", "+").replaceAll("_", "/");
  const bin = atob(s + "=".repeat((4 - s.length % 4) % 4));
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/** `{b64:text}` -> base64 of text, `{b64u:text}` -> unpadded base64url (TUS metadata, ids). */
export function expandB64(text: string): string {
  return text.replace(
    /\{b64(u?):(.*?)\}(?=,|\/|$)/g,
    (_, u: string, t: string) => b64(t, u === "u"),
  );
}

/** The TUS headers compared on `/upload/resumable` records (`upload-expires`: presence only). */
const TUS_HEADERS = [
  "tus-resumable",
  "tus-version",
  "tus-extension",
  "tus-max-size",
  "tus-complete",
  "location",
  "upload-offset",
  "upload-length",
  "upload-metadata",
  "upload-expires",
  "access-control-allow-methods",
  "access-control-allow-headers",
  "access-control-max-age",
  "access-control-expose-headers",
];

/** A TUS header as recorded: upload ids and metadata values decoded (`{id:..}`, `{b64:..}`). */
function tusHeader(name: string, value: string, names: Names): string {
  let out = value;
  if (name === "location") {
    out = value.replace(/(\/upload\/resumable(?:\/sign)?\/)([\w-]+)$/, (_, p, id) => {
      return `${p}{id:${unb64(id)}}`;
    });
  } else if (name === "upload-metadata") {
    out = value.split(",").map((pair) => {
      const [k, v] = pair.split(" ");
      return v === undefined ? k : `${k} {b64:${unb64(v)}}`;
    }).join(",");
  }
  return mask(substitute(out, names.back));
}

/** Test files the records upload (`@hello.txt` ...), sized as the recorded metadata says. */
export const FILES: Record<string, Uint8Array<ArrayBuffer>> = {
  "hello.txt": new TextEncoder().encode("hello from A\n"),
  "song.mp3": new TextEncoder().encode("ID3 fake mp3 data"),
  "over.txt": new Uint8Array(1048577).fill(120),
  "exact.txt": new Uint8Array(1048576).fill(121),
};

function fileOf(ref: string): Uint8Array<ArrayBuffer> {
  if (!ref.startsWith("@")) return new TextEncoder().encode(ref);
  const f = FILES[ref.slice(1)];
  if (!f) throw new Error(`no test file ${ref}`);
  return f;
}

/** Builds the fetch init of a record, as curl sent it. */
export function requestInit(rec: ObservedRecord, names: Names): RequestInit {
  const headers = new Headers();
  for (const [k, v] of rec.headers) {
    if (v !== "") headers.set(k, expandB64(substitute(v, names.forward)));
  }
  const init: RequestInit = { method: rec.method, headers };
  if (rec.json !== undefined) {
    const text = substitute(rec.json, names.forward).replace(
      /"@cursor:([^"]*)"/,
      (_, raw: string) => JSON.stringify(btoa(JSON.parse(`"${raw}"`))),
    );
    init.body = new TextEncoder().encode(
      rec.jsonPad ? text.replace("<pad>", "x".repeat(rec.jsonPad)) : text,
    );
  } else if (rec.binary !== undefined) {
    const bytes = fileOf(rec.binary);
    const chunked = rec.headers.some(([k, v]) =>
      k.toLowerCase() === "transfer-encoding" && v === "chunked"
    );
    headers.delete("transfer-encoding");
    const curlDefault = !rec.headers.some(([k]) => k.toLowerCase() === "content-type");
    if (curlDefault) headers.set("content-type", "application/x-www-form-urlencoded");
    init.body = chunked
      ? new ReadableStream({
        start(c) {
          c.enqueue(bytes);
          c.close();
        },
      })
      : bytes;
  } else if (rec.form) {
    const form = new FormData();
    for (const field of rec.form) {
      const [name, value] = [
        field.slice(0, field.indexOf("=")),
        field.slice(field.indexOf("=") + 1),
      ];
      if (value.startsWith("@")) {
        const [file, ...opts] = value.slice(1).split(";");
        const type = opts.find((o) => o.startsWith("type="))?.slice(5) ?? "";
        form.append(name, new File([fileOf(`@${file}`)], file, { type }));
      } else form.append(name, value);
    }
    init.body = form;
  }
  return init;
}

/** A difference between the recording and this run, or `null`. */
export function compare(
  rec: ObservedRecord,
  status: number,
  body: string,
  headers: Headers,
  names: Names,
): string | null {
  if (status !== rec.status) return `status ${status}, recorded ${rec.status}; body ${body}`;
  const actual = mask(substitute(body, names.back));
  const expected = rec.body === "(empty)" || rec.body.startsWith("(HEAD") ? "" : rec.body;
  const truncated = /\.\.\. \[\d+ bytes total\]$/.exec(expected);
  if (truncated) {
    let prefix = mask(expected.slice(0, truncated.index));
    prefix = prefix.slice(0, prefix.lastIndexOf('{"name":'));
    if (!actual.startsWith(prefix)) return `body\n  got      ${actual}\n  recorded ${prefix}`;
  } else if (expected.startsWith("{") || expected.startsWith("[")) {
    let a: unknown, e: unknown;
    try {
      a = JSON.parse(actual);
      e = JSON.parse(mask(expected));
    } catch {
      return `body is not JSON: ${actual}`;
    }
    if (JSON.stringify(a) !== JSON.stringify(e)) {
      return `body\n  got      ${JSON.stringify(a)}\n  recorded ${JSON.stringify(e)}`;
    }
  } else if (actual !== mask(expected)) {
    return `body\n  got      ${actual}\n  recorded ${expected}`;
  }
  const want = parseHeaders(rec.responseHeaders);
  for (const name of ["content-type", "accept-ranges", "x-robots-tag", "cache-control"]) {
    if (want.has(name) && headers.get(name) !== want.get(name)) {
      return `header ${name}: ${headers.get(name)}, recorded ${want.get(name)}`;
    }
  }
  for (const name of ["content-range", "content-disposition"]) {
    if (want.get(name) !== (headers.get(name) ?? undefined)) {
      return `header ${name}: ${headers.get(name)}, recorded ${want.get(name)}`;
    }
  }
  if (want.has("etag") && mask(headers.get("etag") ?? "") !== mask(want.get("etag")!)) {
    return `header etag: ${headers.get("etag")}`;
  }
  if (rec.path.startsWith("/upload/resumable")) {
    for (const name of TUS_HEADERS) {
      if (want.has(name) !== headers.has(name)) {
        return `header ${name}: ${headers.get(name)}, recorded ${want.get(name)}`;
      }
      const got = headers.get(name);
      if (got === null || name === "upload-expires") continue;
      if (tusHeader(name, got, names) !== mask(want.get(name)!)) {
        return `header ${name}: ${tusHeader(name, got, names)}, recorded ${want.get(name)}`;
      }
    }
  }
  for (const name of ["last-modified", "expires"]) {
    if (want.has(name) !== headers.has(name)) return `header ${name} presence differs`;
  }
  if (want.has("expires") && headers.has("cache-control")) return "cache-control on a signed GET";
  if (!want.get("content-type")?.startsWith("application/json") && want.has("content-length")) {
    if (headers.get("content-length") !== want.get("content-length")) {
      return `header content-length: ${headers.get("content-length")}, recorded ${
        want.get("content-length")
      }`;
    }
  }
  return null;
}
