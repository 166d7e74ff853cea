/**
 * @module `POST /downloads`: signed download links for up to 1000 paths.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { createApi } from "../../_shared/http.ts";
import { type AppEnv, authenticate, scope } from "../context.ts";
import { actorFor } from "../domain/actor.ts";
import { signDownloads } from "../domain/downloads.ts";
import { ActingUserId, bearer, Bucket, errors, FilePath, json, jsonBody } from "./schemas.ts";

export const DownloadBody = z.object({
  bucket: Bucket,
  paths: z.array(FilePath).min(1).max(1000),
  expiresIn: z.number().int().min(1).max(31_536_000).default(3600).openapi({
    description: "Seconds the links stay valid (default 3600)",
  }),
  userId: ActingUserId,
}).openapi("DownloadRequest");

export const DownloadResponse = z.object({
  urls: z.array(z.union([
    z.object({ path: z.string(), signedUrl: z.string(), expiresAt: z.string() }),
    z.object({ path: z.string(), error: z.object({ code: z.string(), message: z.string() }) }),
  ])),
}).openapi("DownloadLinks");

const route = createRoute({
  method: "post",
  path: "/",
  summary: "Sign download links (per-path errors for missing files)",
  security: bearer,
  request: { body: jsonBody(DownloadBody) },
  responses: {
    200: json(DownloadResponse, "Links in input order"),
    ...errors("invalid_path", "forbidden", "not_found"),
  },
});

/** The downloads sub-app. */
export const downloads = createApi<AppEnv>();
downloads.use("*", authenticate());
downloads.openapi(route, async (c) => {
  const { bucket, paths, expiresIn, userId } = c.req.valid("json");
  const actor = actorFor(scope(c), scope(c).caller, userId);
  return c.json({ urls: await signDownloads(scope(c), actor, bucket, paths, expiresIn) }, 200);
});
