/**
 * @module `POST /uploads`, `POST /uploads/batch`, `DELETE /uploads`: reserve
 * quota and sign uploads the browser PUTs straight to Storage; cancel one.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { createApi } from "../../_shared/http.ts";
import { type AppEnv, authenticate, scope } from "../context.ts";
import { resumableOf } from "../domain/resumable.ts";
import { cancelUpload, reserveUploads, type Upload } from "../domain/uploads.ts";
import { ActingUserId, bearer, Bucket, errors, FilePath, json, jsonBody } from "./schemas.ts";

const File = z.object({
  path: FilePath,
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).openapi({ example: 1024 }),
  contentType: z.string().min(1).max(255).openapi({ example: "application/json" }),
});

const Resumable = z.boolean().default(false).openapi({
  description: "Also answer what a TUS client needs to upload the file resumably " +
    "(`resumable` in the answer); for files above 6 MB",
});

export const UploadBody = File.extend({
  bucket: Bucket,
  upsert: z.boolean().default(false),
  resumable: Resumable,
  userId: ActingUserId,
}).openapi("UploadRequest");

export const BatchBody = z.object({
  bucket: Bucket,
  files: z.array(File).min(1).max(100),
  upsert: z.boolean().default(false),
  resumable: Resumable,
  userId: ActingUserId,
}).openapi("BatchUploadRequest");

export const CancelBody = z.object({ bucket: Bucket, path: FilePath, userId: ActingUserId })
  .openapi("CancelUploadRequest");

export const UploadResponse = z.object({
  bucket: z.string(),
  path: z.string(),
  key: z.string().openapi({ description: "Full object key, for uploadToSignedUrl" }),
  size: z.number().int(),
  contentType: z.string().openapi({ description: "Send exactly this Content-Type" }),
  signedUrl: z.string().url(),
  token: z.string(),
  expiresAt: z.string(),
  reservationExpiresAt: z.string(),
  resumable: z.object({
    endpoint: z.string().url().openapi({
      description: "TUS endpoint (Supabase Storage's signed variant): create the upload here",
    }),
    headers: z.record(z.string(), z.string()).openapi({
      description: "Send these headers with every TUS request (`x-signature`)",
    }),
    chunkSize: z.number().int().openapi({ description: "Chunk size Supabase requires: 6 MiB" }),
    metadata: z.object({ bucketName: z.string(), objectName: z.string(), contentType: z.string() })
      .openapi({ description: "The Upload-Metadata entries to send" }),
  }).optional().openapi({ description: "Present when the request asked for `resumable: true`" }),
}).openapi("Upload");

const uploadErrors = errors(
  "invalid_path",
  "forbidden",
  "not_found",
  "already_exists",
  "file_too_large",
  "unsupported_media_type",
  "quota_exceeded",
);

const reserveRoute = createRoute({
  method: "post",
  path: "/",
  summary: "Reserve quota for one upload and sign it",
  security: bearer,
  request: { body: jsonBody(UploadBody) },
  responses: { 201: json(UploadResponse, "Reserved and signed"), ...uploadErrors },
});

const batchRoute = createRoute({
  method: "post",
  path: "/batch",
  summary: "Reserve and sign up to 100 uploads, all or nothing",
  security: bearer,
  request: { body: jsonBody(BatchBody) },
  responses: {
    201: json(z.object({ uploads: z.array(UploadResponse) }), "Reserved and signed"),
    ...uploadErrors,
  },
});

const cancelRoute = createRoute({
  method: "delete",
  path: "/",
  summary: "Cancel a reservation",
  security: bearer,
  request: { body: jsonBody(CancelBody) },
  responses: {
    204: { description: "Cancelled" },
    ...errors("invalid_path", "not_found", "forbidden"),
  },
});

/** The uploads sub-app. */
export const uploads = createApi<AppEnv>();
uploads.use("*", authenticate());
uploads
  .openapi(reserveRoute, async (c) => {
    const { bucket, upsert, userId, resumable, ...file } = c.req.valid("json");
    const [upload] = await reserveUploads(scope(c), scope(c).caller, {
      bucket,
      files: [file],
      upsert,
      userId,
    });
    return c.json(withResumable(c, upload, resumable), 201);
  })
  .openapi(batchRoute, async (c) => {
    const { resumable, ...body } = c.req.valid("json");
    const reserved = await reserveUploads(scope(c), scope(c).caller, body);
    return c.json({ uploads: reserved.map((u) => withResumable(c, u, resumable)) }, 201);
  })
  .openapi(cancelRoute, async (c) => {
    const { bucket, path, userId } = c.req.valid("json");
    await cancelUpload(scope(c).db, scope(c).caller, bucket, path, userId);
    return c.body(null, 204);
  });

function withResumable(
  c: Parameters<typeof scope>[0],
  upload: Upload,
  resumable: boolean,
): Upload & { resumable?: ReturnType<typeof resumableOf> } {
  if (!resumable) return upload;
  return { ...upload, resumable: resumableOf(scope(c).config.publicSupabaseUrl, upload) };
}
