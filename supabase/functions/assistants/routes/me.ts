/**
 * @module `PUT /me`, `GET /me`, `DELETE /me`: the caller's one voice assistant
 * and its course.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireUser } from "../../_shared/auth.ts";
import { createApi } from "../../_shared/http.ts";
import { type AppEnv, authenticate, scope } from "../context.ts";
import { deleteMine, getMine, putMine } from "../domain/assistants.ts";
import {
  AssistantId,
  AssistantResponse,
  CourseId,
  errorResponses,
  USER_SECURITY,
} from "./schemas.ts";

/** Body of `PUT /me`. */
export const PutMeBody = z.object({ assistantId: AssistantId, courseId: CourseId }).strict();

const putMe = createRoute({
  method: "put",
  path: "/me",
  summary: "Set the caller's assistant (replaces the previous one atomically)",
  security: USER_SECURITY,
  middleware: [authenticate()] as const,
  request: { body: { required: true, content: { "application/json": { schema: PutMeBody } } } },
  responses: {
    200: {
      description: "The mapping now in place",
      content: { "application/json": { schema: AssistantResponse } },
    },
    ...errorResponses({
      400: "invalid_request",
      401: "unauthorized",
      409: "assistant_taken: another user owns this assistant id",
    }),
  },
});

const getMe = createRoute({
  method: "get",
  path: "/me",
  summary: "Read the caller's assistant",
  security: USER_SECURITY,
  middleware: [authenticate()] as const,
  responses: {
    200: {
      description: "The caller's mapping",
      content: { "application/json": { schema: AssistantResponse } },
    },
    ...errorResponses({ 401: "unauthorized", 404: "not_found: the caller has no assistant" }),
  },
});

const deleteMe = createRoute({
  method: "delete",
  path: "/me",
  summary: "Remove the caller's assistant",
  security: USER_SECURITY,
  middleware: [authenticate()] as const,
  responses: {
    204: { description: "Removed" },
    ...errorResponses({ 401: "unauthorized", 404: "not_found: the caller has no assistant" }),
  },
});

/** The `/me` routes. */
export const meRoutes = createApi<AppEnv>()
  .openapi(putMe, async (c) => {
    const { db, caller } = scope(c);
    const { claims } = requireUser(caller);
    const { assistantId, courseId } = c.req.valid("json");
    const assistant = await db.withUser(
      claims,
      (tx) => putMine(tx, claims.sub, assistantId, courseId),
    );
    return c.json(assistant, 200);
  })
  .openapi(getMe, async (c) => {
    const { db, caller } = scope(c);
    const { claims } = requireUser(caller);
    return c.json(await db.withUser(claims, (tx) => getMine(tx, claims.sub)), 200);
  })
  .openapi(deleteMe, async (c) => {
    const { db, caller } = scope(c);
    const { claims } = requireUser(caller);
    await db.withUser(claims, (tx) => deleteMine(tx, claims.sub));
    return c.body(null, 204);
  });
