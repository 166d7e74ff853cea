/**
 * @module Signed download URLs: `POST /object/sign/{bucket}/{key}` (one) and
 * `POST /object/sign/{bucket}` (many, per-path errors). Objects are looked up as the
 * caller, so RLS-hidden objects look missing.
 */
import { type Ctx, json } from "./context.ts";
import { ERRORS, fromDbError } from "./errors.ts";
import { findObject } from "./objects.ts";
import { mustBeValidBucketName, mustBeValidKey } from "./validate.ts";

/** Beyond this `exp` cannot be represented (`getMaxNumericJWTExpiration`). */
const MAX_EXPIRES_IN = 9_007_199_254_740;

function checkExpiresIn(expiresIn: number): void {
  if (expiresIn < 1 || expiresIn + Math.floor(Date.now() / 1000) > MAX_EXPIRES_IN) {
    throw ERRORS.invalidParameter("expiresIn");
  }
}

async function signDownload(ctx: Ctx, bucket: string, key: string, expiresIn: number) {
  const token = await ctx.api.tokens.sign(
    { url: `${bucket}/${key}`, scope: "download" },
    expiresIn,
  );
  return `/object/sign/${bucket}/${key}?token=${token}`;
}

/** `POST /object/sign/{bucket}/{key}` `{expiresIn, transform?}` → `{signedURL}`. */
export async function signObject(ctx: Ctx): Promise<Response> {
  ctx.operation = "storage.object.sign";
  const body = await ctx.body({
    props: { expiresIn: { type: "integer", minimum: 1 }, transform: { type: "object" } },
    required: ["expiresIn"],
  });
  ctx.requireAuthHeader();
  await ctx.authenticate();
  const [bucket, key] = ctx.params;
  mustBeValidBucketName(bucket);
  mustBeValidKey(key);
  const expiresIn = body.expiresIn as number;
  checkExpiresIn(expiresIn);
  await findObject(ctx, ctx.userScope(), bucket, key);
  return json({ signedURL: await signDownload(ctx, bucket, key, expiresIn) });
}

/** `POST /object/sign/{bucket}` `{expiresIn, paths}` → `[{error, path, signedURL}]`. */
export async function signObjects(ctx: Ctx): Promise<Response> {
  ctx.operation = "storage.object.sign_many";
  const body = await ctx.body({
    props: {
      expiresIn: { type: "integer", minimum: 1 },
      paths: { type: "array", minItems: 1, maxItems: 1000, items: { type: "string" } },
    },
    required: ["expiresIn", "paths"],
  });
  ctx.requireAuthHeader();
  await ctx.authenticate();
  const [bucket] = ctx.params;
  mustBeValidBucketName(bucket);
  const expiresIn = body.expiresIn as number;
  checkExpiresIn(expiresIn);
  const paths = body.paths as string[];
  const rows = await ctx.api.db.run(ctx.userScope(), (tx) =>
    tx<{ name: string }[]>`
      select name from storage.objects
      where bucket_id = ${bucket} and name = any(${paths}::text[])`).catch((e) => {
      throw fromDbError(e);
    });
  const found = new Set(rows.map((r) => r.name));
  const out = [];
  for (const path of paths) {
    out.push(
      found.has(path)
        ? { error: null, path, signedURL: await signDownload(ctx, bucket, path, expiresIn) }
        : {
          error: "Either the object does not exist or you do not have access to it",
          path,
          signedURL: null,
        },
    );
  }
  return json(out);
}
