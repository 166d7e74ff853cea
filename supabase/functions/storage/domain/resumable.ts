/**
 * @module What a TUS client needs to upload a reserved file resumably: Supabase Storage's
 * signed TUS endpoint (`/storage/v1/upload/resumable/sign`), which takes the same signed-upload
 * token as `uploadToSignedUrl` in an `x-signature` header and verifies it on every request, the
 * `Upload-Metadata` to send, and the chunk size Supabase requires. The upload stays held to its
 * reservation: the object row is written when the last byte lands, and the BEFORE INSERT trigger
 * judges it there, as any upload.
 */
import type { Upload } from "./uploads.ts";

/** The chunk size Supabase Storage requires of TUS clients: 6 MiB. */
export const TUS_CHUNK_SIZE = 6 * 1024 * 1024;

/** How to upload one reserved file with TUS (e.g. `new tus.Upload(file, {...})`). */
export interface ResumableUpload {
  /** The TUS creation endpoint (the signed variant). */
  endpoint: string;
  /** Headers every TUS request must carry. */
  headers: Record<string, string>;
  /** Send chunks of exactly this size (the last one may be smaller). */
  chunkSize: number;
  /** The `Upload-Metadata` entries. */
  metadata: { bucketName: string; objectName: string; contentType: string };
}

/**
 * Describes the resumable upload of a reserved and signed file.
 * @param publicSupabaseUrl the project URL as browsers reach it (no trailing slash)
 * @example resumableOf("https://abc.supabase.co", upload).endpoint
 *   // "https://abc.supabase.co/storage/v1/upload/resumable/sign"
 */
export function resumableOf(publicSupabaseUrl: string, upload: Upload): ResumableUpload {
  return {
    endpoint: `${publicSupabaseUrl}/storage/v1/upload/resumable/sign`,
    headers: { "x-signature": upload.token },
    chunkSize: TUS_CHUNK_SIZE,
    metadata: {
      bucketName: upload.bucket,
      objectName: upload.key,
      contentType: upload.contentType,
    },
  };
}
