/**
 * @module `GET /objects` (keyset listing, one level or recursive) and
 * `DELETE /objects` (named paths).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { createApi } from "../../_shared/http.ts";
import { type AppEnv, authenticate, scope } from "../context.ts";
import { actorFor } from "../domain/actor.ts";
import { listFolder } from "../domain/listing.ts";
import { deleteObjects } from "../domain/objects.ts";
import {
  ActingUserId,
  bearer,
  Bucket,
  errors,
  FailedPath,
  FilePath,
  json,
  jsonBody,
} from "./schemas.ts";

export const ListQuery = z.object({
  bucket: Bucket,
  prefix: z.string().max(2048).default("").openapi({
    description: 'A folder: "" (home) or ending in "/"',
    example: "course-42/",
  }),
  recursive: z.enum(["true", "false"]).default("false").openapi({
    description: "true: every file below the folder; false: one level (files and folders)",
  }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(4096).optional().openapi({
    description: "nextCursor of the previous page",
  }),
  userId: ActingUserId,
});

export const ListResponse = z.object({
  items: z.array(z.object({
    path: z.string(),
    name: z.string(),
    size: z.number().int(),
    contentType: z.string().nullable(),
    updatedAt: z.string().nullable(),
  })),
  folders: z.array(z.object({ path: z.string(), name: z.string() })),
  nextCursor: z.string().nullable(),
}).openapi("ObjectList");

export const DeleteBody = z.object({
  bucket: Bucket,
  paths: z.array(FilePath).min(1).max(1000),
  userId: ActingUserId,
}).openapi("DeleteObjectsRequest");

export const DeleteResponse = z.object({
  deleted: z.array(z.string()),
  notFound: z.array(z.string()),
  failed: z.array(FailedPath),
}).openapi("DeleteObjectsResult");

const listRoute = createRoute({
  method: "get",
  path: "/",
  summary: "List a folder: one level (files and folders) or recursively",
  security: bearer,
  request: { query: ListQuery },
  responses: {
    200: json(ListResponse, "One page"),
    ...errors("invalid_path", "forbidden", "not_found"),
  },
});

const deleteRoute = createRoute({
  method: "delete",
  path: "/",
  summary: "Delete up to 1000 objects by path",
  security: bearer,
  request: { body: jsonBody(DeleteBody) },
  responses: {
    200: json(DeleteResponse, "What was deleted"),
    ...errors("invalid_path", "forbidden", "not_found"),
  },
});

/** The objects sub-app. */
export const objects = createApi<AppEnv>();
objects.use("*", authenticate());
objects
  .openapi(listRoute, async (c) => {
    const { userId, ...query } = c.req.valid("query");
    const page = await listFolder(actorFor(scope(c), scope(c).caller, userId), {
      ...query,
      recursive: query.recursive === "true",
    });
    return c.json(page, 200);
  })
  .openapi(deleteRoute, async (c) => {
    const { bucket, paths, userId } = c.req.valid("json");
    const actor = actorFor(scope(c), scope(c).caller, userId);
    const result = await deleteObjects(scope(c), actor, bucket, paths);
    return c.json(result, 200);
  });
