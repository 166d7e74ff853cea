/**
 * @module Schemas shared by the storage routes: the error envelope, bucket and
 * path fields, and the error responses each route documents.
 */
import { z } from "@hono/zod-openapi";
import { ERROR_STATUS, type ErrorCode } from "../../_shared/app-error.ts";

/** The error envelope of every failure. */
export const ErrorResponse = z.object({
  error: z.object({
    code: z.string().openapi({ example: "quota_exceeded" }),
    message: z.string().openapi({ example: 'Cannot reserve "a.mp3": 512 MiB of 500 MiB' }),
    details: z.unknown().openapi({ description: "Specifics (numbers, fields), or null" }),
  }),
}).openapi("Error");

/** A bucket id (the Storage server's bucket-name character set). */
export const Bucket = z.string().min(1).max(100).regex(/^[A-Za-z0-9_!.*'() &$=@;:+,-]+$/, {
  message: "Invalid bucket name",
}).openapi({ example: "anantra-lms-store" });

/** A home-relative file path (checked in full by `_shared/paths.ts`: 400 invalid_path). */
export const FilePath = z.string().max(2048).openapi({ example: "course-42/notes.json" });

/** A user id. */
export const UserId = z.string().regex(
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
  { message: "Invalid user id (expected a UUID)" },
).openapi({ example: "a11ce000-0000-4000-8000-000000000001" });

/**
 * The `userId` a request may name: the user a backend holding the service key acts for
 * (required then); a signed-in user may name only themselves (403 otherwise).
 */
export const ActingUserId = UserId.optional().openapi({
  description: "Service key: the user acted for (required). A user may name only themselves.",
});

/** Quota and usage of a user. */
export const QuotaResponse = z.object({
  plan: z.string(),
  quotaBytes: z.number().int(),
  usedBytes: z.number().int(),
  reservedBytes: z.number().int(),
  availableBytes: z.number().int(),
  objectCount: z.number().int(),
}).openapi("Quota");

/** A failed path in a bulk answer. */
export const FailedPath = z.object({ path: z.string(), code: z.string(), message: z.string() });

/** Documents the error answers of a route (always 400, 401 and the 5xx). */
export function errors(...codes: ErrorCode[]) {
  const all: ErrorCode[] = [
    "invalid_request",
    "unauthorized",
    ...codes,
    "storage_unavailable",
    "database_unavailable",
  ];
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of all) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...new Set([...(byStatus.get(status) ?? []), code])]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [status, {
      description: list.join(" / "),
      content: { "application/json": { schema: ErrorResponse } },
    }]),
  );
}

/** A required JSON request body. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { "application/json": { schema } } } as const;
}

/** A JSON response. */
export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } } as const;
}

/** A user's access token (Bearer JWT), or a backend's secret key (`apikey`). */
export const bearer: Record<string, string[]>[] = [{ bearerAuth: [] }, { secretKey: [] }];
