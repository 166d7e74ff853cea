/**
 * @module `GET /quota`: the plan, quota and usage of the caller, or of the user
 * a backend names (`userId`, service key).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { createApi } from "../../_shared/http.ts";
import { type AppEnv, authenticate, scope } from "../context.ts";
import { actorFor } from "../domain/actor.ts";
import { myQuota } from "../domain/quota.ts";
import { ActingUserId, bearer, errors, json, QuotaResponse } from "./schemas.ts";

export const QuotaQuery = z.object({ userId: ActingUserId });

const route = createRoute({
  method: "get",
  path: "/",
  summary: "The plan, quota and usage of the caller (or of userId, service key)",
  security: bearer,
  request: { query: QuotaQuery },
  responses: {
    200: json(QuotaResponse, "Quota and usage"),
    ...errors("forbidden", "not_found"),
  },
});

/** The quota sub-app. */
export const quota = createApi<AppEnv>();
quota.use("*", authenticate());
quota.openapi(route, async (c) => {
  const { userId } = c.req.valid("query");
  const actor = actorFor(scope(c), scope(c).caller, userId);
  return c.json(await actor.run((tx) => myQuota(tx, userId ?? null)), 200);
});
