/**
 * @module `POST /object/move` and `POST /object/copy`: an RLS dry run as the caller,
 * then the bytes copied to a new version and the row written as service_role.
 */
import { type Ctx, json } from "./context.ts";
import { ERRORS, fromDbError } from "./errors.ts";
import {
  completeWrite,
  findBucket,
  findObject,
  objectBody,
  type ObjectRow,
  testPermission,
} from "./objects.ts";
import { decodeBase64Json } from "./upload.ts";
import { mustBeValidBucketName, mustBeValidKey, type Shape } from "./validate.ts";

const BODY: Shape = {
  props: {
    bucketId: { type: "string" },
    sourceKey: { type: "string" },
    destinationKey: { type: "string" },
    destinationBucket: { type: "string" },
    metadata: {
      type: "object",
      props: { cacheControl: { type: "string" }, mimetype: { type: "string" } },
    },
    copyMetadata: { type: "boolean" },
  },
  required: ["bucketId", "sourceKey", "destinationKey"],
};

/** `{bucketId, sourceKey, destinationKey, destinationBucket?}` → `{"message":"Successfully moved"}`. */
export async function moveObject(ctx: Ctx): Promise<Response> {
  ctx.operation = "storage.object.move";
  const { bucket, source, dest, destBucket } = await moveRequest(ctx);
  const owner = ctx.caller.sub || undefined;
  const newVersion = crypto.randomUUID();

  try {
    await ctx.api.db.dryRun(ctx.userScope(), async (tx) => {
      const found = await tx`
        select id from storage.objects where name = ${source} and bucket_id = ${bucket} limit 1`;
      if (found.length === 0) throw ERRORS.noSuchKey();
      const updated = await tx`
        update storage.objects set name = ${dest}, bucket_id = ${destBucket},
          version = ${newVersion},
          owner = case when ${owner ?? null}::text is null then owner
                       when ${owner ?? ""} ~* '^[0-9a-f-]{36}$' then ${owner ?? null}::uuid
                       else null end,
          owner_id = coalesce(${owner ?? null}::text, owner_id)
        where id = ${found[0].id} returning *`;
      if (updated.length === 0) throw ERRORS.noSuchKey();
    });
  } catch (e) {
    throw fromDbError(e, ERRORS.resourceAlreadyExists);
  }

  const row = await findObject(ctx, ctx.serviceScope(), bucket, source);
  const written = await copyBytes(
    ctx,
    { bucket, key: source, version: row.version ?? "" },
    { bucket: destBucket, key: dest, version: newVersion },
  );
  const metadata = { ...(row.metadata ?? {}), lastModified: written.lastModified.toISOString() };
  try {
    await ctx.api.db.run(ctx.serviceScope(), async (tx) => {
      await tx`select set_config('lock_timeout', '5000ms', true)`;
      await tx`select pg_advisory_xact_lock(hashtext(${`${destBucket}/${dest}`}))`;
      await tx`select id from storage.objects where id = ${row.id} for update`;
      await tx`select set_config('lock_timeout', '0', true)`;
      await tx`
        update storage.objects set name = ${dest}, bucket_id = ${destBucket},
          version = ${newVersion}, metadata = ${tx.json(metadata as never)},
          owner = case when ${owner ?? null}::text is null then owner
                       when ${owner ?? ""} ~* '^[0-9a-f-]{36}$' then ${owner ?? null}::uuid
                       else null end,
          owner_id = coalesce(${owner ?? null}::text, owner_id)
        where id = ${row.id}`;
    });
  } catch (e) {
    await ctx.api.disk.remove(destBucket, dest, newVersion);
    if ((e as { code?: string }).code === "55P03") throw ERRORS.lockTimeout();
    throw fromDbError(e, ERRORS.resourceAlreadyExists);
  }
  await ctx.api.disk.remove(bucket, source, row.version);
  return json({ message: "Successfully moved" });
}

/** `{bucketId, sourceKey, destinationKey, destinationBucket?}` → `{Key, Id, ...row}`. */
export async function copyObject(ctx: Ctx): Promise<Response> {
  ctx.operation = "storage.object.copy";
  const { body, bucket, source, dest, destBucket } = await moveRequest(ctx);
  const upsert = ctx.headers["x-upsert"] === "true";
  const owner = ctx.caller.sub || undefined;

  const src = await findObject(ctx, ctx.userScope(), bucket, source);
  await findBucket(ctx, destBucket);
  // copyMetadata (default true) copies metadata and user_metadata. With false, as the REST
  // route does (preserveUnspecifiedFileMetadata): the body's metadata.cacheControl/mimetype
  // replace the source's, the rest is kept; user_metadata comes from x-metadata or is NULL.
  const copyMetadata = body.copyMetadata !== false;
  const destMetadata: Record<string, unknown> = { ...(src.metadata ?? {}) };
  const fileMetadata = (body.metadata ?? {}) as { cacheControl?: string; mimetype?: string };
  if (!copyMetadata) {
    if (fileMetadata.cacheControl !== undefined) {
      destMetadata.cacheControl = fileMetadata.cacheControl;
    }
    if (fileMetadata.mimetype !== undefined) destMetadata.mimetype = fileMetadata.mimetype;
  }
  const userMetadata = copyMetadata
    ? (src.user_metadata as Record<string, unknown> | null) ?? undefined
    : decodeBase64Json(ctx.headers["x-metadata"]);
  await testPermission(ctx, ctx.userScope(), {
    bucket: destBucket,
    key: dest,
    owner,
    metadata: destMetadata,
    userMetadata,
    version: "1",
  }, upsert);

  const version = crypto.randomUUID();
  const written = await copyBytes(
    ctx,
    { bucket, key: source, version: src.version ?? "" },
    { bucket: destBucket, key: dest, version },
  );
  const metadata = { ...destMetadata, lastModified: written.lastModified.toISOString() };
  let result: { row: ObjectRow; previousVersion: string | null };
  try {
    result = await completeWrite(ctx, {
      bucket: destBucket,
      key: dest,
      owner,
      metadata,
      userMetadata,
      version,
    });
  } catch (e) {
    await ctx.api.disk.remove(destBucket, dest, version);
    throw e;
  }
  if (result.previousVersion) await ctx.api.disk.remove(destBucket, dest, result.previousVersion);
  return json({ Key: `${destBucket}/${dest}`, Id: result.row.id, ...objectBody(result.row) });
}

/**
 * Copies the source version's bytes. When a concurrent overwrite or delete removed that version
 * after its row was read, the backend's copy fails as S3's does, and the server answers its
 * 404 `NoSuchKey` (not a 500).
 */
async function copyBytes(
  ctx: Ctx,
  from: { bucket: string; key: string; version: string },
  to: { bucket: string; key: string; version: string },
): Promise<Awaited<ReturnType<Ctx["api"]["disk"]["copy"]>>> {
  try {
    return await ctx.api.disk.copy(from, to);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
      await ctx.api.disk.remove(to.bucket, to.key, to.version);
      throw ERRORS.noSuchKey();
    }
    throw e;
  }
}

/** Reads and checks a move or copy request, in the server's order: body, auth, names. */
async function moveRequest(ctx: Ctx) {
  const body = await ctx.body(BODY);
  ctx.requireAuthHeader();
  await ctx.authenticate();
  const bucket = body.bucketId as string;
  const source = body.sourceKey as string;
  const dest = body.destinationKey as string;
  const destBucket = (body.destinationBucket as string | undefined) ?? bucket;
  mustBeValidBucketName(bucket);
  mustBeValidBucketName(destBucket);
  mustBeValidKey(source);
  mustBeValidKey(dest);
  return { body, bucket, source, dest, destBucket };
}
