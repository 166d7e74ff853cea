/**
 * @module Deletes: `DELETE /object/{bucket}` (exact names, batches of 500, each its own
 * transaction as the caller, bytes removed with the batch) and the single-object
 * `DELETE /object/{bucket}/{key}` (403 when RLS hides an existing row).
 */
import { type Ctx, json } from "./context.ts";
import { Db } from "./db.ts";
import { ERRORS, fromDbError } from "./errors.ts";
import { objectBody, type ObjectRow } from "./objects.ts";
import { mustBeValidBucketName } from "./validate.ts";

const BATCH = 500;

/** `DELETE /object/{bucket}` `{prefixes}` → the deleted rows. */
export async function deleteObjects(ctx: Ctx): Promise<Response> {
  ctx.operation = "storage.object.delete_many";
  const body = await ctx.body({
    props: { prefixes: { type: "array", minItems: 1, items: { type: "string" } } },
    required: ["prefixes"],
  });
  ctx.requireAuthHeader();
  await ctx.authenticate();
  const [bucket] = ctx.params;
  mustBeValidBucketName(bucket);
  const names = body.prefixes as string[];
  const deleted: ObjectRow[] = [];
  for (let i = 0; i < names.length; i += BATCH) {
    const batch = names.slice(i, i + BATCH);
    const rows = await ctx.api.db.run(ctx.userScope(), async (tx) => {
      const rows = await tx<ObjectRow[]>`
        delete from storage.objects
        where bucket_id = ${bucket} and name = any(${batch}::text[])
        returning *`;
      for (const row of rows) await ctx.api.disk.remove(row.bucket_id, row.name, row.version);
      return rows;
    }).catch((e) => {
      throw fromDbError(e);
    });
    deleted.push(...rows);
  }
  return json(deleted.map(objectBody));
}

/** `DELETE /object/{bucket}/{key}` → `{"message":"Successfully deleted"}`. */
export async function deleteObject(ctx: Ctx): Promise<Response> {
  ctx.operation = "storage.object.delete";
  ctx.requireAuthHeader();
  await ctx.authenticate();
  const [bucket, key] = ctx.params;
  mustBeValidBucketName(bucket);
  const user = ctx.userScope();
  const row = await ctx.api.db.run(user, async (tx) => {
    const existing = await Db.within(tx, ctx.serviceScope(), user, (sp) =>
      sp<ObjectRow[]>`
        select id, name, bucket_id, version from storage.objects
        where name = ${key} and bucket_id = ${bucket} limit 1 for update`);
    if (existing.length === 0) throw ERRORS.noSuchKey();
    const rows = await tx<ObjectRow[]>`
      delete from storage.objects where name = ${key} and bucket_id = ${bucket} returning *`;
    if (rows.length === 0) throw ERRORS.accessDenied("Access denied");
    return rows[0];
  }).catch((e) => {
    throw fromDbError(e);
  });
  await ctx.api.disk.remove(row.bucket_id, row.name, row.version);
  return json({ message: "Successfully deleted" });
}
