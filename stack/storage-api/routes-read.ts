/**
 * @module Read routes: downloads (`/object/{b}/{k}`, `/authenticated/`, `/public/`,
 * signed `GET /object/sign/...`), HEAD, and `info`. Bytes are streamed from the version
 * file; Range gives 206, If-None-Match / If-Modified-Since give 304, as recorded.
 */
import { type Ctx, iso, json } from "./context.ts";
import { rangeStream } from "./disk.ts";
import { errorResponse, ERRORS, StorageError } from "./errors.ts";
import { findBucket, findObject, type ObjectRow } from "./objects.ts";
import { verifyUrlToken } from "./routes-upload.ts";
import { mustBeValidBucketName, mustBeValidKey } from "./validate.ts";

type Access = "default" | "authenticated" | "public";

/** Resolves the object of a read as the real server does for each access mode. */
async function lookup(ctx: Ctx, access: Access): Promise<ObjectRow> {
  const [bucketId, key] = ctx.params;
  if (access === "authenticated") {
    ctx.requireAuthHeader();
    await ctx.authenticate();
  } else if (access === "default") {
    await ctx.authenticateLeniently();
  }
  mustBeValidBucketName(bucketId);
  mustBeValidKey(key);
  const bucket = await findBucket(ctx, bucketId);
  if (bucket.public) return await findObject(ctx, ctx.serviceScope(), bucketId, key);
  if (access === "public" || !ctx.caller.verified) throw ERRORS.noSuchBucket();
  return await findObject(ctx, ctx.userScope(), bucketId, key);
}

function httpDate(value: unknown): string {
  const d = value instanceof Date ? value : new Date(String(value));
  return Number.isNaN(d.getTime()) ? new Date(0).toUTCString() : d.toUTCString();
}

function objectHeaders(row: ObjectRow): Headers {
  const meta = row.metadata ?? {};
  const mime = String(meta.mimetype ?? "application/octet-stream");
  const h = new Headers();
  h.set("accept-ranges", "bytes");
  h.set(
    "content-type",
    mime.startsWith("text/html") ? mime.replace("text/html", "text/plain") : mime,
  );
  if (meta.eTag) h.set("etag", String(meta.eTag));
  h.set("x-robots-tag", String(meta.xRobotsTag ?? "none"));
  h.set("last-modified", httpDate(meta.lastModified ?? row.updated_at));
  return h;
}

function notModified(ctx: Ctx, row: ObjectRow): boolean {
  const etag = row.metadata?.eTag;
  const inm = ctx.headers["if-none-match"];
  if (inm !== undefined) {
    return etag !== undefined &&
      inm.split(",").map((s) => s.trim().replace(/^W\//, "")).some((t) => t === etag || t === "*");
  }
  const ims = ctx.headers["if-modified-since"];
  if (ims !== undefined && row.metadata?.lastModified) {
    const since = Date.parse(ims);
    const modified = Math.floor(Date.parse(String(row.metadata.lastModified)) / 1000) * 1000;
    return !Number.isNaN(since) && modified <= since;
  }
  return false;
}

/**
 * A Range header as the file backend reads it (`src/storage/range.ts`): one `bytes=a-b`,
 * `bytes=a-` or `bytes=-n` range inside the object, the end clamped; anything else
 * (malformed, several ranges, beyond the end, any range of an empty object) is `null`.
 */
function parseRange(header: string, size: number): [number, number] | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header);
  if (!m || size <= 0 || (m[1] === "" && m[2] === "")) return null;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (!Number.isSafeInteger(suffix) || suffix <= 0) return null;
    return [Math.max(size - suffix, 0), size - 1];
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Number(m[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return null;
  if (end < start || start >= size) return null;
  return [start, Math.min(end, size - 1)];
}

/** Streams a row's current version with the recorded headers. */
async function send(ctx: Ctx, row: ObjectRow, extra: Record<string, string>): Promise<Response> {
  const headers = objectHeaders(row);
  const file = await ctx.api.disk.open(row.bucket_id, row.name, row.version ?? "");
  if (!file) {
    const err = new StorageError(404, "Not found", "The resource was not found", "NoSuchKey");
    const r = json(err.body(), 400, { "cache-control": "no-store" });
    return ctx.method === "HEAD" ? new Response(null, { status: 400, headers: r.headers }) : r;
  }
  const size = (await file.stat()).size;
  for (const [k, v] of Object.entries(extra)) headers.set(k, v);
  const download = ctx.query("download");
  if (notModified(ctx, row)) {
    file.close();
    headers.set("content-length", "0");
    return new Response(null, { status: 304, headers });
  }
  let status = 200;
  let start = 0, end = size - 1;
  const rangeHeader = ctx.headers["range"];
  if (rangeHeader) {
    const range = parseRange(rangeHeader, size);
    if (!range) {
      file.close();
      return errorResponse(ERRORS.invalidRange(), ctx.method);
    }
    [start, end] = range;
    status = 206;
    headers.set("content-range", `bytes ${start}-${end}/${size}`);
  }
  headers.set("content-length", String(end - start + 1));
  if (download !== null) {
    headers.set(
      "content-disposition",
      download === ""
        ? "attachment;"
        : `attachment; filename=${encodeURIComponent(download)}; filename*=UTF-8''${
          encodeURIComponent(download)
        }`,
    );
  }
  if (ctx.method === "HEAD" || size === 0) {
    file.close();
    return new Response(null, { status, headers });
  }
  return new Response(rangeStream(file, start, end), { status, headers });
}

/** `GET|HEAD /object/{bucket}/{key}` and its `/authenticated/`, `/public/` variants. */
export function download(access: Access) {
  return async (ctx: Ctx): Promise<Response> => {
    ctx.operation = access === "public"
      ? "storage.object.get_public"
      : "storage.object.get_authenticated";
    const row = await lookup(ctx, access);
    const cache = String(row.metadata?.cacheControl ?? "no-cache");
    return await send(ctx, row, { "cache-control": cache });
  };
}

/** `GET|HEAD /object/sign/{bucket}/{key}?token=[&download=]`: read as service_role. */
export async function signedDownload(ctx: Ctx): Promise<Response> {
  ctx.operation = "storage.object.get_signed";
  const [bucket, key] = ctx.params;
  const payload = await verifyUrlToken(ctx, bucket, key, "download");
  const row = await findObject(ctx, ctx.serviceScope(), bucket, key);
  const expires = new Date((payload.exp ?? 0) * 1000).toUTCString();
  return await send(ctx, row, { expires });
}

/** `GET|HEAD /object/info/{bucket}/{key}` (and `/authenticated/`, `/public/`). */
export function info(access: Access) {
  return async (ctx: Ctx): Promise<Response> => {
    ctx.operation = ctx.method === "HEAD"
      ? "object.head_authenticated_info"
      : "object.get_authenticated_info";
    const row = await lookup(ctx, access);
    const meta = row.metadata ?? {};
    const body = {
      id: row.id,
      name: row.name,
      version: row.version,
      bucket_id: row.bucket_id,
      size: meta.size ?? null,
      content_type: meta.mimetype ?? null,
      cache_control: meta.cacheControl ?? null,
      etag: meta.eTag ?? null,
      metadata: row.user_metadata ?? {},
      last_modified: iso(row.updated_at),
      created_at: iso(row.created_at),
    };
    const headers: Record<string, string> = {};
    if (meta.eTag) headers["etag"] = String(meta.eTag);
    headers["last-modified"] = httpDate(meta.lastModified ?? row.updated_at);
    headers["cache-control"] = String(meta.cacheControl ?? "no-cache");
    const r = json(body, 200, headers);
    return ctx.method === "HEAD" ? new Response(null, { status: 200, headers: r.headers }) : r;
  };
}
