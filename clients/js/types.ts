/**
 * @module The API's request and answer types, taken from the very zod schemas
 * the functions validate with (type-only imports: the bundle carries no zod).
 * A schema change changes these types, and `types.test.ts` fails to compile
 * where the client no longer matches.
 */
import type { z } from "@hono/zod-openapi";
import type {
  BatchBody,
  CancelBody,
  UploadBody,
  UploadResponse,
} from "../../supabase/functions/storage/routes/uploads.ts";
import type { QuotaResponse } from "../../supabase/functions/storage/routes/schemas.ts";
import type {
  DeleteBody,
  DeleteResponse,
  ListQuery as ListQuerySchema,
  ListResponse,
} from "../../supabase/functions/storage/routes/objects.ts";
import type {
  FolderDeleteBody,
  FolderDeleteResponse,
} from "../../supabase/functions/storage/routes/folders.ts";
import type {
  DownloadBody,
  DownloadResponse,
} from "../../supabase/functions/storage/routes/downloads.ts";
import type { PutMeBody } from "../../supabase/functions/assistants/routes/me.ts";
import type { AssistantResponse } from "../../supabase/functions/assistants/routes/schemas.ts";
import type { LookupResponse } from "../../supabase/functions/assistants/routes/lookup.ts";
import type { PositionResponse } from "../../supabase/functions/assistants/routes/positions.ts";

/** `POST /uploads` body. */
export type UploadRequest = z.input<typeof UploadBody>;
/** `POST /uploads/batch` body. */
export type BatchUploadRequest = z.input<typeof BatchBody>;
/** `DELETE /uploads` body. */
export type CancelUploadRequest = z.input<typeof CancelBody>;
/** A reserved, signed upload (`POST /uploads` answer, one item of the batch answer). */
export type Upload = z.output<typeof UploadResponse>;
/** What a TUS client needs for a reserved file (`resumable` of an {@link Upload}). */
export type ResumableUpload = NonNullable<Upload["resumable"]>;
/** `POST /uploads/batch` answer. */
export interface BatchUploadResponse {
  uploads: Upload[];
}

/** The query string of `GET /objects`, as the function reads it. */
export type ListQueryString = z.input<typeof ListQuerySchema>;
/**
 * `GET /objects` query as the client takes it: the schema's fields, with
 * `recursive` a boolean and `limit` a number instead of their query-string forms.
 */
export type ListQuery =
  & Omit<ListQueryString, "recursive" | "limit" | "cursor">
  & { recursive?: boolean; limit?: number; cursor?: ListQueryString["cursor"] | null };
/** `GET /objects` answer. */
export type ListPage = z.output<typeof ListResponse>;
/** A file in a listing. */
export type ListedFile = ListPage["items"][number];
/** A folder in a one-level listing. */
export type ListedFolder = ListPage["folders"][number];

/** `DELETE /objects` body. */
export type DeleteObjectsRequest = z.input<typeof DeleteBody>;
/** `DELETE /objects` answer. */
export type DeleteObjectsResponse = z.output<typeof DeleteResponse>;
/** `DELETE /folders` body. */
export type DeleteFolderRequest = z.input<typeof FolderDeleteBody>;
/** `DELETE /folders` answer. */
export type DeleteFolderResponse = z.output<typeof FolderDeleteResponse>;
/** `POST /downloads` body. */
export type DownloadsRequest = z.input<typeof DownloadBody>;
/** `POST /downloads` answer. */
export type DownloadsResponse = z.output<typeof DownloadResponse>;
/** One entry of {@link DownloadsResponse}: a signed URL or why there is none. */
export type DownloadLink = DownloadsResponse["urls"][number];
/** `GET /quota` answer. */
export type Quota = z.output<typeof QuotaResponse>;

/** `PUT /me` body. */
export type SetAssistantRequest = z.input<typeof PutMeBody>;
/** `GET /me`, `PUT /me` answer. */
export type Assistant = z.output<typeof AssistantResponse>;
/** `GET /lookup/:assistantId` answer. */
export type AssistantLookup = z.output<typeof LookupResponse>;
/** `GET|PUT /positions/:courseId` answer. */
export type Position = z.output<typeof PositionResponse>;
