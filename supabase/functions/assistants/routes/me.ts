/**
 * @module `PUT /me`, `GET /me`, `DELETE /me`: a user's one voice assistant and
 * its course. Mappings are recorded by a trusted caller: the app's backend with
 * the service key, naming the user (`userId`, in the body or the query). A
 * signed-in user reads and removes their own mapping, changes its course, and
 * claims a free id only when `stowage.settings.users_claim_assistants` is on.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { AppError } from "../../_shared/app-error.ts";
import type { Tx } from "../../_shared/db.ts";
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

/** A user id (the user a backend acts for). */
const UserId = z.string().regex(
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
  { message: "Invalid user id (expected a UUID)" },
).openapi({
  example: "a11ce000-0000-4000-8000-000000000001",
  description: "Service key: the user acted for (required). A user may name only themselves.",
});

/** Body of `PUT /me`: the backend adds `userId` (or sends it in the query). */
export const PutMeBody = z.object({
  assistantId: AssistantId,
  courseId: CourseId,
  userId: UserId.optional(),
}).strict();

/** Query of the `/me` routes: the user a backend holding the service key acts for. */
export const MeQuery = z.object({ userId: UserId.optional() });

const putMe = createRoute({
  method: "put",
  path: "/me",
  summary: "Record a user's assistant (replaces the previous one atomically)",
  description: "With the service key, for `userId`: any id (409 when another user owns it). " +
    "With a user's token: only the course of the id they hold, or a free id when the " +
    "project lets users claim ids (`stowage.settings.users_claim_assistants`, off by default); " +
    "every other case is the same 403, whether the id is free or taken.",
  security: USER_SECURITY,
  middleware: [authenticate()] as const,
  request: {
    query: MeQuery,
    body: { required: true, content: { "application/json": { schema: PutMeBody } } },
  },
  responses: {
    200: {
      description: "The mapping now in place",
      content: { "application/json": { schema: AssistantResponse } },
    },
    ...errorResponses({
      400: "invalid_request (also: the service key without userId)",
      401: "unauthorized",
      403:
        "forbidden: a user may not record this id (the same answer whether it is free or taken), " +
        "or names another user",
      404: "not_found: (service key) no such user",
      409: "assistant_taken: (service key only) another user owns this assistant id",
    }),
  },
});

const getMe = createRoute({
  method: "get",
  path: "/me",
  summary: "Read a user's assistant",
  security: USER_SECURITY,
  middleware: [authenticate()] as const,
  request: { query: MeQuery },
  responses: {
    200: {
      description: "The user's mapping",
      content: { "application/json": { schema: AssistantResponse } },
    },
    ...errorResponses({
      400: "invalid_request: the service key without userId",
      401: "unauthorized",
      403: "forbidden: a user naming another user",
      404: "not_found: the user has no assistant",
    }),
  },
});

const deleteMe = createRoute({
  method: "delete",
  path: "/me",
  summary: "Remove a user's assistant",
  security: USER_SECURITY,
  middleware: [authenticate()] as const,
  request: { query: MeQuery },
  responses: {
    204: { description: "Removed" },
    ...errorResponses({
      400: "invalid_request: the service key without userId",
      401: "unauthorized",
      403: "forbidden: a user naming another user",
      404: "not_found: the user has no assistant",
    }),
  },
});

/** Who a `/me` request acts for, and a transaction as the caller. */
interface MeActor {
  /** The user acted for. */
  userId: string;
  /** The `userId` to hand to SQL: the named user for the service role, null for a user. */
  named: string | null;
  run<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
}

/**
 * The user a `/me` request acts for: the signed-in user, or the user a backend
 * holding the service key names.
 * @throws AppError invalid_request (service key without userId, or two different userIds),
 * forbidden (a user naming another user)
 */
function meActor(c: Context<AppEnv>, ...named: (string | undefined)[]): MeActor {
  const { db, caller } = scope(c);
  const given = [...new Set(named.filter((n): n is string => !!n).map((n) => n.toLowerCase()))];
  if (given.length > 1) {
    throw new AppError("invalid_request", "Send userId once (the body and the query differ)", {
      details: { field: "userId" },
    });
  }
  const userId = given[0] ?? null;
  if (caller.kind === "service") {
    if (!userId) {
      throw new AppError("invalid_request", "Name the user to act for: send userId", {
        details: { field: "userId" },
      });
    }
    return { userId, named: userId, run: (fn) => db.withService(fn) };
  }
  if (userId && userId !== caller.claims.sub.toLowerCase()) {
    throw new AppError("forbidden", "Cannot act for another user: send your own userId or none");
  }
  return { userId: caller.claims.sub, named: null, run: (fn) => db.withUser(caller.claims, fn) };
}

/** The `/me` routes. */
export const meRoutes = createApi<AppEnv>()
  .openapi(putMe, async (c) => {
    const { assistantId, courseId, userId } = c.req.valid("json");
    const actor = meActor(c, userId, c.req.valid("query").userId);
    const assistant = await actor.run((tx) => putMine(tx, actor.named, assistantId, courseId));
    return c.json(assistant, 200);
  })
  .openapi(getMe, async (c) => {
    const actor = meActor(c, c.req.valid("query").userId);
    return c.json(await actor.run((tx) => getMine(tx, actor.userId)), 200);
  })
  .openapi(deleteMe, async (c) => {
    const actor = meActor(c, c.req.valid("query").userId);
    await actor.run((tx) => deleteMine(tx, actor.userId));
    return c.body(null, 204);
  });
