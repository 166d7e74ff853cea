/**
 * @module `GET /events?after=<id>&limit=`: upload and delete events in order,
 * for a backend (service key: everyone's, or one user's with `userId`) or a
 * user (their own). Resume with `after` = the `next` of the previous page.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { createApi } from "../../_shared/http.ts";
import { type AppEnv, authenticate, scope } from "../context.ts";
import { runAsCaller } from "../domain/actor.ts";
import { readEvents } from "../domain/events.ts";
import { bearer, errors, json, UserId } from "./schemas.ts";

export const EventsQuery = z.object({
  after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0).openapi({
    description: "The last event id already processed (0: from the oldest kept)",
  }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  userId: UserId.optional().openapi({
    description: "Only this user's events (service key); a user may name only themselves",
  }),
});

export const EventResponse = z.object({
  id: z.number().int(),
  userId: z.string(),
  bucket: z.string(),
  path: z.string().openapi({ description: "Home-relative path" }),
  key: z.string().openapi({ description: "Full object key" }),
  kind: z.enum(["created", "overwritten", "moved", "deleted"]),
  size: z.number().int(),
  contentType: z.string().nullable(),
  fromBucket: z.string().nullable(),
  fromPath: z.string().nullable().openapi({ description: "For moved: the old path" }),
  operation: z.string().nullable().openapi({ example: "storage.object.upload_signed" }),
  createdAt: z.string(),
}).openapi("Event");

export const EventsResponse = z.object({
  events: z.array(EventResponse),
  next: z.number().int().openapi({ description: "Send as after to read on" }),
  hasMore: z.boolean(),
}).openapi("EventPage");

const route = createRoute({
  method: "get",
  path: "/",
  summary: "Upload and delete events after a cursor, in order (exact under concurrent writes)",
  security: bearer,
  request: { query: EventsQuery },
  responses: {
    200: json(EventsResponse, "Events, oldest first"),
    ...errors("forbidden", "not_found"),
  },
});

/** The events sub-app. */
export const events = createApi<AppEnv>();
events.use("*", authenticate());
events.openapi(route, async (c) => {
  const query = c.req.valid("query");
  return c.json(await readEvents(runAsCaller(scope(c), scope(c).caller), query), 200);
});
