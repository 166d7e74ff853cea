/**
 * @module The schemas and handler of `POST /admin/purge` (mounted by
 * `admin.ts`): drain the queue of deleted users' homes through the Storage
 * API, time-budgeted and resumable like `DELETE /folders`; prune old events.
 */
import { z } from "@hono/zod-openapi";
import type { Caller } from "../../_shared/auth.ts";
import type { Deps } from "../context.ts";
import { drainPurge, queueOrphanedHomes } from "../domain/purge.ts";
import { FailedPath, UserId } from "./schemas.ts";

/** Events pruned per call (the retention is a setting: stowage.settings.event_retention_seconds). */
const PRUNE_PER_CALL = 100_000;

export const PurgeBody = z.object({
  userId: UserId.optional().openapi({ description: "Only this queued user" }),
  budgetMs: z.number().int().min(100).max(600_000).optional().openapi({
    description: "Time budget of this call in ms (capped by FOLDER_DELETE_BUDGET_MS)",
  }),
  orphans: z.boolean().default(false).openapi({
    description: "First queue the homes of users deleted before Stowage was installed",
  }),
}).openapi("PurgeRequest");

export const PurgeResponse = z.object({
  users: z.array(z.object({
    userId: z.string(),
    deleted: z.number().int(),
    remaining: z.number().int(),
    done: z.boolean(),
    failed: z.array(FailedPath.extend({ bucket: z.string() })),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
  })),
  deleted: z.number().int(),
  queued: z.number().int().openapi({ description: "Users still queued" }),
  queuedOrphans: z.number().int(),
  prunedEvents: z.number().int(),
  done: z.boolean(),
}).openapi("PurgeResult");

/** Runs one drain for the service caller (the admin middleware checked it). */
export async function purgeRun(
  deps: Deps & { caller: Caller },
  body: z.infer<typeof PurgeBody> | undefined,
): Promise<z.infer<typeof PurgeResponse>> {
  const queuedOrphans = body?.orphans ? await queueOrphanedHomes(deps.db) : 0;
  const budget = deps.config.folderDeleteBudgetMs;
  const result = await drainPurge(deps, deps.caller.token, {
    budgetMs: Math.min(body?.budgetMs ?? budget, budget),
    userId: body?.userId ?? null,
    pruneLimit: PRUNE_PER_CALL,
  });
  return { ...result, queuedOrphans };
}
