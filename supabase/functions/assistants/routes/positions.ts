/**
 * @module `GET /positions/{courseId}` and `PUT /positions/{courseId}`: where the
 * caller's assistant last stopped in a course (0 when it never saved one).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireUser } from "../../_shared/auth.ts";
import { createApi } from "../../_shared/http.ts";
import { type AppEnv, authenticate, scope } from "../context.ts";
import { getPosition, putPosition } from "../domain/positions.ts";
import { CourseId, errorResponses, USER_SECURITY } from "./schemas.ts";

/** Path parameters of the position routes. */
export const PositionParams = z.object({
  courseId: CourseId.openapi({ param: { name: "courseId", in: "path" } }),
});

/** Body of `PUT /positions/{courseId}`. */
export const PutPositionBody = z
  .object({ lastPosition: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) })
  .strict();

/** The caller's position in a course. */
export const PositionResponse = z
  .object({
    courseId: z.string(),
    lastPosition: z.number().int().min(0),
    updatedAt: z.string().nullable().openapi({ format: "date-time" }),
  })
  .openapi("Position");

const getRoute = createRoute({
  method: "get",
  path: "/positions/{courseId}",
  summary: "Read the caller's last position in a course (0 when none)",
  security: USER_SECURITY,
  middleware: [authenticate()] as const,
  request: { params: PositionParams },
  responses: {
    200: {
      description: "The position",
      content: { "application/json": { schema: PositionResponse } },
    },
    ...errorResponses({ 400: "invalid_request", 401: "unauthorized" }),
  },
});

const putRoute = createRoute({
  method: "put",
  path: "/positions/{courseId}",
  summary: "Save the caller's last position in a course",
  security: USER_SECURITY,
  middleware: [authenticate()] as const,
  request: {
    params: PositionParams,
    body: { required: true, content: { "application/json": { schema: PutPositionBody } } },
  },
  responses: {
    200: {
      description: "The saved position",
      content: { "application/json": { schema: PositionResponse } },
    },
    ...errorResponses({ 400: "invalid_request", 401: "unauthorized" }),
  },
});

/** The position routes. */
export const positionRoutes = createApi<AppEnv>()
  .openapi(getRoute, async (c) => {
    const { db, caller } = scope(c);
    const { claims } = requireUser(caller);
    const { courseId } = c.req.valid("param");
    return c.json(await db.withUser(claims, (tx) => getPosition(tx, claims.sub, courseId)), 200);
  })
  .openapi(putRoute, async (c) => {
    const { db, caller } = scope(c);
    const { claims } = requireUser(caller);
    const { courseId } = c.req.valid("param");
    const { lastPosition } = c.req.valid("json");
    const saved = await db.withUser(
      claims,
      (tx) => putPosition(tx, claims.sub, courseId, lastPosition),
    );
    return c.json(saved, 200);
  });
