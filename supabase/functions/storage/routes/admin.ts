/**
 * @module Admin routes, service role only: set a user's plan, read a user's
 * usage, reconcile usage counters, purge deleted users' files.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireService } from "../../_shared/auth.ts";
import { createApi } from "../../_shared/http.ts";
import { type AppEnv, authenticate, scope } from "../context.ts";
import { reconcile, setPlan, usageOf } from "../domain/quota.ts";
import { reconcilePages } from "../domain/reconcile.ts";
import { AppError } from "../../_shared/app-error.ts";
import { PurgeBody, PurgeResponse, purgeRun } from "./purge.ts";
import { bearer, errors, json, jsonBody, QuotaResponse, UserId } from "./schemas.ts";

const UserParams = z.object({ userId: UserId.openapi({ param: { name: "userId", in: "path" } }) });
export const PlanBody = z.object({ plan: z.string().min(1).max(64).openapi({ example: "paid" }) })
  .openapi("SetPlanRequest");
export const ReconcileBody = z.object({
  userId: UserId.optional().openapi({
    description: "Only this user (one indexed read, under their lock); without it, a page of all " +
      "users from `cursor`",
  }),
  cursor: UserId.optional().openapi({
    description:
      "Continue the walk over all users after this one (the `cursor` of the last answer)",
  }),
  budgetMs: z.number().int().min(100).max(600_000).optional().openapi({
    description: "Time budget of this call in ms (capped by FOLDER_DELETE_BUDGET_MS)",
  }),
  limit: z.number().int().min(1).max(100_000).optional().openapi({
    description: "Users checked by this call at most (default: as many as the budget allows)",
  }),
}).openapi("ReconcileRequest");
export const ReconcileResponse = z.object({
  users: z.array(z.object({
    userId: z.string(),
    bytesBefore: z.number().int(),
    bytesAfter: z.number().int(),
    objectsBefore: z.number().int(),
    objectsAfter: z.number().int(),
    droppedReservations: z.number().int(),
  })).openapi({
    description: "Users whose counters were fixed, or whose expired reservations " +
      "were dropped (with userId: that user, always)",
  }),
  checked: z.number().int().openapi({ description: "Users checked by this call" }),
  cursor: z.string().nullable().openapi({
    description: "Pass it back as `cursor` to continue; null when done",
  }),
  done: z.boolean().openapi({ description: "True when every user has been checked" }),
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
  summary: "Recompute usage from storage.objects, drop expired reservations: one user, or all " +
    "users page by page within a time budget; call again with the cursor until done " +
    "(service role)",
  security: bearer,
  request: {
    body: { required: false, content: { "application/json": { schema: ReconcileBody } } },
  },
  responses: {
    200: json(ReconcileResponse, "Users whose counters changed, and progress"),
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
    const { userId, cursor, budgetMs, limit } = c.req.valid("json") ?? {};
    const { db, config } = scope(c);
    if (userId) {
      if (cursor || limit) {
        throw new AppError("invalid_request", "Send userId alone, or cursor and limit without it", {
          details: { field: "cursor" },
        });
      }
      const users = await db.withService((tx) => reconcile(tx, userId));
      return c.json({ users, checked: 1, cursor: null, done: true }, 200);
    }
    const budget = config.folderDeleteBudgetMs;
    return c.json(
      await reconcilePages(db, {
        cursor: cursor ?? null,
        budgetMs: Math.min(budgetMs ?? budget, budget),
        maxUsers: limit,
      }),
      200,
    );
  })
  .openapi(purgeRoute, async (c) => c.json(await purgeRun(scope(c), c.req.valid("json")), 200));
