/**
 * @module `DELETE /folders`: delete everything below a folder within a time
 * budget; call again while `done` is false.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { createApi } from "../../_shared/http.ts";
import { type AppEnv, authenticate, scope } from "../context.ts";
import { actorFor } from "../domain/actor.ts";
import { deleteFolder, REMAINING_CAP } from "../domain/folders.ts";
import { ActingUserId, bearer, Bucket, errors, FailedPath, json, jsonBody } from "./schemas.ts";

export const FolderDeleteBody = z.object({
  bucket: Bucket,
  prefix: z.string().max(2048).openapi({ description: 'Folder ending in "/", or "" for the home' }),
  confirm: z.boolean().default(false).openapi({ description: 'Required (true) when prefix is ""' }),
  budgetMs: z.number().int().min(100).max(600_000).optional().openapi({
    description: "Time budget of this call in ms (capped by FOLDER_DELETE_BUDGET_MS)",
  }),
  userId: ActingUserId,
}).openapi("FolderDeleteRequest");

export const FolderDeleteResponse = z.object({
  deleted: z.number().int(),
  failed: z.array(FailedPath),
  remaining: z.number().int().openapi({
    description: `Objects left below the folder: exact up to ${REMAINING_CAP}; when more are ` +
      `left it is ${REMAINING_CAP} and remainingCapped is true`,
  }),
  remainingCapped: z.literal(true).optional().openapi({
    description: `Present only when more than ${REMAINING_CAP} objects are left (the count ` +
      "stops there, so a call costs the same whatever the folder's size)",
  }),
  done: z.boolean(),
}).openapi("FolderDeleteResult");

const route = createRoute({
  method: "delete",
  path: "/",
  summary: "Delete every object below a folder (resumable)",
  security: bearer,
  request: { body: jsonBody(FolderDeleteBody) },
  responses: {
    200: json(FolderDeleteResponse, "Progress; call again until done"),
    ...errors("invalid_path", "forbidden", "not_found"),
  },
});

/** The folders sub-app. */
export const folders = createApi<AppEnv>();
folders.use("*", authenticate());
folders.openapi(route, async (c) => {
  const { budgetMs, userId, ...body } = c.req.valid("json");
  const { config, caller } = scope(c);
  const result = await deleteFolder(scope(c), actorFor(scope(c), caller, userId), {
    ...body,
    budgetMs: Math.min(budgetMs ?? config.folderDeleteBudgetMs, config.folderDeleteBudgetMs),
  });
  return c.json(result, 200);
});
