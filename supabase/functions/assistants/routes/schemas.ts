/**
 * @module Schemas several assistants routes share: ids, the mapping, and the
 * error envelope documented on every route.
 */
import { z } from "@hono/zod-openapi";

/** An assistant id as the voice platform issues it: 1-200 printable ASCII characters, no spaces. */
export const AssistantId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces")
  .openapi({
    example: "asst_3f9c2a71",
    description: "1-200 printable ASCII characters, no spaces",
  });

/**
 * A course id (a folder name in the LMS): 1-200 UTF-16 code units of any text
 * but control characters and unpaired surrogates (which Postgres cannot store:
 * they would silently become U+FFFD and no longer match what the client sent).
 * It is a database value, never a path, so `/`, `..` and `%` are plain text.
 */
export const CourseId = z
  .string()
  .min(1)
  .max(200)
  .regex(
    // deno-lint-ignore no-control-regex
    /^[^\x00-\x1f\x7f\p{Cs}]+$/u,
    "must not contain control characters or unpaired surrogates",
  )
  .openapi({
    example: "intro-to-physics",
    description: "1-200 UTF-16 code units; no control characters or unpaired surrogates",
  });

/** One mapping, as the owner sees it. */
export const AssistantResponse = z
  .object({
    assistantId: z.string(),
    userId: z.string().uuid(),
    courseId: z.string(),
    createdAt: z.string().openapi({ format: "date-time" }),
    updatedAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Assistant");

/** The error envelope every failure is answered with. */
export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "not_found" }),
      message: z.string(),
      details: z.unknown(),
    }),
  })
  .openapi("Error");

/** Documents the error answers of a route (status -> description). */
export function errorResponses(
  statuses: Record<number, string>,
): Record<
  number,
  { description: string; content: { "application/json": { schema: typeof ErrorResponse } } }
> {
  return Object.fromEntries(
    Object.entries(statuses).map(([status, description]) => [
      status,
      { description, content: { "application/json": { schema: ErrorResponse } } },
    ]),
  );
}

/** An OpenAPI security requirement (scheme name -> scopes). */
export type SecurityRequirement = Record<string, string[]>;

/** Security of routes that act for a signed-in user. */
export const USER_SECURITY: SecurityRequirement[] = [{ bearer: [] }];

/** Security of the lookup: the webhook secret, a secret key (apikey), or the owner's token. */
export const LOOKUP_SECURITY: SecurityRequirement[] = [
  { webhookSecret: [] },
  { secretKey: [] },
  { bearer: [] },
];
