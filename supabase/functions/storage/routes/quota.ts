/**
 * @module `GET /quota`: the caller's plan, quota and usage.
 */
import { createRoute } from "@hono/zod-openapi";
import { requireUser } from "../../_shared/auth.ts";
import { createApi } from "../../_shared/http.ts";
import { type AppEnv, authenticate, scope } from "../context.ts";
import { myQuota } from "../domain/quota.ts";
import { bearer, errors, json, QuotaResponse } from "./schemas.ts";

const route = createRoute({
  method: "get",
  path: "/",
  summary: "The caller's plan, quota and usage",
  security: bearer,
  responses: { 200: json(QuotaResponse, "Quota and usage"), ...errors() },
});

/** The quota sub-app. */
export const quota = createApi<AppEnv>();
quota.use("*", authenticate());
quota.openapi(route, async (c) => {
  const { db, caller } = scope(c);
  return c.json(await db.withUser(requireUser(caller).claims, myQuota), 200);
});
