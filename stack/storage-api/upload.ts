/**
 * @module Uploads, in the real server's order (`uploadFromRequest` → `Uploader.upload`):
 * bucket lookup as service_role; MIME (literal), declared size and key checks; the
 * permission test as the caller, rolled back; the bytes, streamed to a new version file;
 * one service-role upsert; the new file removed if that fails, the old one after success.
 */
import type { Ctx } from "./context.ts";
import { ERRORS } from "./errors.ts";
import { readMultipart } from "./multipart.ts";
import { completeWrite, findBucket, type ObjectRow, testPermission } from "./objects.ts";
import { mustBeAllowedMime, mustBeValidBucketName, mustBeValidKey } from "./validate.ts";

/** What one upload does. */
export interface UploadPlan {
  bucket: string;
  key: string;
  upsert: boolean;
  /** `sub` of the caller or the signed token's `owner`; undefined for the service key. */
  owner?: string;
  /** Signed upload: the permission test runs as service_role too. */
  asService: boolean;
}

/** The parsed upload body. */
interface Body {
  stream: ReadableStream<Uint8Array> | null;
  mimetype: string;
  cacheControl: string;
  userMetadata: Record<string, unknown> | undefined;
  multipart: boolean;
}

const USER_METADATA_LIMIT = 1024 * 1024;
/** `UPLOAD_FILE_SIZE_LIMIT_STANDARD` as the CLI sets it: standard uploads never exceed it. */
const STANDARD_UPLOAD_LIMIT = 5242880000;

function parseJsonObject(text: string | undefined | null): Record<string, unknown> | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text);
    return typeof v === "object" && v !== null ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The `x-metadata` header: base64 of a JSON object; anything else is ignored (undefined). */
export function decodeBase64Json(value: string | undefined): Record<string, unknown> | undefined {
  if (!value) return undefined;
  try {
    const bytes = Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
    return parseJsonObject(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

async function readBody(ctx: Ctx): Promise<Body> {
  const type = ctx.headers["content-type"] ?? "";
  if (type.toLowerCase().startsWith("multipart/form-data")) {
    const mp = await readMultipart(ctx.req.body, type);
    const metaText = mp.fields.get("metadata") ?? mp.fields.get("userMetadata");
    if (metaText && new TextEncoder().encode(metaText).byteLength > USER_METADATA_LIMIT) {
      await mp.stream.cancel();
      throw ERRORS.userMetadataTooLarge();
    }
    const cache = mp.fields.get("cacheControl");
    return {
      stream: mp.stream,
      mimetype: mp.fields.get("contentType") || mp.mimetype,
      cacheControl: cache ? `max-age=${cache}` : "no-cache",
      userMetadata: parseJsonObject(metaText),
      multipart: true,
    };
  }
  return {
    stream: ctx.req.body,
    mimetype: type || "application/octet-stream",
    cacheControl: ctx.headers["cache-control"] || "no-cache",
    userMetadata: decodeBase64Json(ctx.headers["x-metadata"]),
    multipart: false,
  };
}

function declaredLength(ctx: Ctx): number | undefined {
  const raw = ctx.headers["content-length"];
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}

/**
 * Runs one upload and returns the written row.
 * @throws StorageError as the real server answers each failure
 */
export async function upload(ctx: Ctx, plan: UploadPlan): Promise<ObjectRow> {
  const { bucket: bucketId, key } = plan;
  mustBeValidBucketName(bucketId);
  const bucket = await findBucket(ctx, bucketId);
  const body = await readBody(ctx);
  try {
    const placeholder = key.endsWith(".emptyFolderPlaceholder");
    if (!placeholder) mustBeAllowedMime(body.mimetype, bucket.allowed_mime_types);
    const limit = placeholder ? 0 : Math.min(
      bucket.file_size_limit ?? Number.POSITIVE_INFINITY,
      ctx.api.fileSizeLimit,
      STANDARD_UPLOAD_LIMIT,
    );
    const declared = declaredLength(ctx);
    if (!body.multipart && declared !== undefined && declared > limit) {
      throw ERRORS.entityTooLarge();
    }
    mustBeValidKey(key);

    const scope = plan.asService ? ctx.serviceScope() : ctx.userScope();
    const probeMeta: Record<string, unknown> = { mimetype: body.mimetype };
    if (declared !== undefined) probeMeta.contentLength = declared;
    await testPermission(ctx, scope, {
      bucket: bucketId,
      key,
      owner: plan.owner,
      metadata: probeMeta,
      userMetadata: body.userMetadata,
      version: "1",
    }, plan.upsert);

    const version = crypto.randomUUID();
    const written = await ctx.api.disk.write(
      bucketId,
      key,
      version,
      body.stream,
      body.multipart ? limit : Number.POSITIVE_INFINITY,
    );
    body.stream = null;
    const metadata = {
      eTag: `"${written.md5}"`,
      size: written.size,
      mimetype: body.mimetype,
      cacheControl: body.cacheControl,
      lastModified: written.lastModified.toISOString(),
      contentLength: written.size,
      httpStatusCode: 200,
    };
    let result;
    try {
      result = await completeWrite(ctx, {
        bucket: bucketId,
        key,
        owner: plan.owner,
        metadata,
        userMetadata: body.userMetadata ?? {},
        version,
      });
    } catch (e) {
      await ctx.api.disk.remove(bucketId, key, version);
      throw e;
    }
    if (result.previousVersion && result.previousVersion !== version) {
      await ctx.api.disk.remove(bucketId, key, result.previousVersion);
    }
    return result.row;
  } finally {
    if (body.stream) await body.stream.cancel().catch(() => {});
  }
}
