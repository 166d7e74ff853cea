/**
 * @module Admin routes, service role only: set a user's plan, read a user's
 * usage, reconcile usage counters, purge deleted users' files.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireService } from "../../_shared/auth.ts";
import { createApi } from "../../_shared/http.ts";
import { type AppEnv, authenticate, scope } from "../context.ts";
import { reconcile, setPlan, usageOf } from "../domain/quota.ts";
import { PurgeBody, PurgeResponse, purgeRun } from "./purge.ts";
import { bearer, errors, json, jsonBody, QuotaResponse, UserId } from "./schemas.ts";

const UserParams = z.object({ userId: UserId.openapi({ param: { name: "userId", in: "path" } }) });
export const PlanBody = z.object({ plan: z.string().min(1).max(64).openapi({ example: "paid" }) })
  .openapi("SetPlanRequest");
export const ReconcileBody = z.object({ userId: UserId.optional() }).openapi("ReconcileRequest");
export const ReconcileResponse = z.object({
  users: z.array(z.object({
    userId: z.string(),
    bytesBefore: z.number().int(),
    bytesAfter: z.number().int(),
    objectsBefore: z.number().int(),
    objectsAfter: z.number().int(),
    droppedReservations: z.number().int(),
  })),
}).openapi("ReconcileResult");

const planRoute = createRoute({
  method: "put",
  path: "/users/{userId}/plan",
  summary: "Put a user on a plan (service role)",
  security: bearer,
  request: { params: UserParams, body: jsonBody(PlanBody) },
  responses: {
    200: json(QuotaResponse, "The user's new quota"),
    ...errors("forbidden", "not_found"),
  },
});

const usageRoute = createRoute({
  method: "get",
  path: "/users/{userId}/usage",
  summary: "A user's plan, quota and usage (service role)",
  security: bearer,
  request: { params: UserParams },
  responses: { 200: json(QuotaResponse, "Quota and usage"), ...errors("forbidden", "not_found") },
});

const reconcileRoute = createRoute({
  method: "post",
  path: "/reconcile",
  summary: "Recompute usage from storage.objects, drop expired reservations (service role)",
  security: bearer,
  request: {
    body: { required: false, content: { "application/json": { schema: ReconcileBody } } },
  },
  responses: {
    200: json(ReconcileResponse, "Users whose counters changed"),
    ...errors("forbidden"),
  },
});

const purgeRoute = createRoute({
  method: "post",
  path: "/purge",
  summary: "Delete the files of deleted users, within a time budget; call again until done " +
    "(service role)",
  security: bearer,
  request: {
    body: { required: false, content: { "application/json": { schema: PurgeBody } } },
  },
  responses: {
    200: json(PurgeResponse, "Progress; call again until done"),
    ...errors("forbidden", "not_found"),
  },
});

/** The admin sub-app. */
export const admin = createApi<AppEnv>();
admin.use("*", authenticate());
admin.use("*", async (c, next) => {
  requireService(c.get("caller"));
  await next();
});
admin
  .openapi(planRoute, async (c) => {
    const { userId } = c.req.valid("param");
    const { plan } = c.req.valid("json");
    return c.json(await scope(c).db.withService((tx) => setPlan(tx, userId, plan)), 200);
  })
  .openapi(usageRoute, async (c) => {
    const { userId } = c.req.valid("param");
    return c.json(await scope(c).db.withService((tx) => usageOf(tx, userId)), 200);
  })
  .openapi(reconcileRoute, async (c) => {
    const { userId } = c.req.valid("json");
    const users = await scope(c).db.withService((tx) => reconcile(tx, userId ?? null));
    return c.json({ users }, 200);
  })
  .openapi(purgeRoute, async (c) => c.json(await purgeRun(scope(c), c.req.valid("json")), 200));
