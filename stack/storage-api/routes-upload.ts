/**
 * @module Upload routes: `POST|PUT /object/{bucket}/{key}`, signing an upload URL and the
 * token-authorised `PUT /object/upload/sign/{bucket}/{key}`.
 */
import { joseMessage, type UrlTokenPayload } from "./auth.ts";
import { type Ctx, json } from "./context.ts";
import { ERRORS } from "./errors.ts";
import { testPermission } from "./objects.ts";
import { upload } from "./upload.ts";
import { mustBeValidBucketName } from "./validate.ts";

/** `POST /object/{bucket}/{key}` (storage-js `upload`): `x-upsert: true` allows overwrite. */
export async function createObject(ctx: Ctx): Promise<Response> {
  ctx.operation = "storage.object.upload";
  ctx.requireAuthHeader();
  await ctx.authenticate();
  const [bucket, key] = ctx.params;
  const row = await upload(ctx, {
    bucket,
    key,
    upsert: ctx.headers["x-upsert"] === "true",
    owner: ctx.caller.sub || undefined,
    asService: false,
  });
  return json({ Key: `${bucket}/${key}`, Id: row.id });
}

/** `PUT /object/{bucket}/{key}` (storage-js `update`): always an upsert. */
export async function updateObject(ctx: Ctx): Promise<Response> {
  ctx.operation = "storage.object.upload_update";
  ctx.requireAuthHeader();
  await ctx.authenticate();
  const [bucket, key] = ctx.params;
  const row = await upload(ctx, {
    bucket,
    key,
    upsert: true,
    owner: ctx.caller.sub || undefined,
    asService: false,
  });
  return json({ Key: `${bucket}/${key}`, Id: row.id });
}

/**
 * `POST /object/upload/sign/{bucket}/{key}`: the permission test as the caller (RLS and
 * duplicates answer now), then a token `{owner, url, upsert, scope:"upload"}`. The key
 * is not validated here, as in the real server.
 */
export async function signUploadUrl(ctx: Ctx): Promise<Response> {
  ctx.operation = "storage.object.sign_upload_url";
  ctx.requireAuthHeader();
  await ctx.authenticate();
  const [bucket, key] = ctx.params;
  mustBeValidBucketName(bucket);
  const upsert = ctx.headers["x-upsert"] === "true";
  const owner = ctx.caller.sub || undefined;
  const metadata: Record<string, unknown> = {};
  if (ctx.headers["content-type"]) metadata.mimetype = ctx.headers["content-type"];
  const length = ctx.headers["content-length"];
  if (length && /^\d+$/.test(length)) metadata.contentLength = Number(length);
  await ctx.req.body?.cancel().catch(() => {});
  const userMetadata = decodeMeta(ctx.headers["x-metadata"]);
  await testPermission(ctx, ctx.userScope(), {
    bucket,
    key,
    owner,
    metadata,
    userMetadata,
    version: "1",
  }, upsert);
  const payload: UrlTokenPayload = { url: `${bucket}/${key}`, upsert, scope: "upload" };
  if (owner !== undefined) payload.owner = owner;
  const token = await ctx.api.tokens.sign(payload, ctx.api.uploadSignedUrlExpirationSeconds);
  return json({ url: `/object/upload/sign/${bucket}/${key}?token=${token}`, token });
}

function decodeMeta(value: string | undefined): Record<string, unknown> | undefined {
  if (!value) return undefined;
  try {
    const v = JSON.parse(
      new TextDecoder().decode(Uint8Array.from(atob(value), (c) => c.charCodeAt(0))),
    );
    return typeof v === "object" && v !== null ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Verifies a signed-URL token for `bucket/key` and the expected scope, at request start.
 * @throws InvalidJWT (jose message) or InvalidSignature
 */
export async function verifyUrlToken(
  ctx: Ctx,
  bucket: string,
  key: string,
  scope: "upload" | "download",
): Promise<UrlTokenPayload> {
  const token = ctx.query("token");
  if (token === null) throw ERRORS.validation("querystring must have required property 'token'");
  let payload: UrlTokenPayload;
  try {
    payload = await ctx.api.tokens.verifyUrlToken(token);
  } catch (e) {
    throw ERRORS.invalidJwt(joseMessage(e));
  }
  const tokenScope = payload.scope ??
    (typeof payload.upsert === "boolean" ? "upload" : "download");
  if (tokenScope !== scope) throw ERRORS.invalidSignature(`Token is not scoped for ${scope}`);
  if (payload.url !== `${bucket}/${key}`) throw ERRORS.invalidSignature();
  return payload;
}

/**
 * `PUT /object/upload/sign/{bucket}/{key}?token=`: no Authorization needed; the token's
 * `owner` and `upsert` decide, everything runs as service_role.
 */
export async function uploadSignedObject(ctx: Ctx): Promise<Response> {
  ctx.operation = "storage.object.upload_signed";
  const [bucket, key] = ctx.params;
  const payload = await verifyUrlToken(ctx, bucket, key, "upload");
  await upload(ctx, {
    bucket,
    key,
    upsert: payload.upsert === true,
    owner: typeof payload.owner === "string" ? payload.owner : undefined,
    asService: true,
  });
  return json({ Key: `${bucket}/${key}` });
}
