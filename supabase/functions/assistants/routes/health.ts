/**
 * @module `GET /health` (no authentication): whether the function is configured,
 * its database answers, and the webhook secret is set (the lookup route's
 * webhook path needs it). Names missing variables, never their values.
 */
import { AppError } from "../../_shared/app-error.ts";
import { healthApp } from "../../_shared/health.ts";
import type { Runtime } from "../context.ts";

/** The health sub-app of a function instance (mount it at `/health`). */
export function healthRoutes(runtime: Runtime) {
  return healthApp(runtime, {
    database: (deps) => deps.db.ping(),
    webhookSecret: (deps) =>
      deps.config.assistantWebhookSecret ? Promise.resolve() : Promise.reject(
        new AppError("misconfigured", "ASSISTANT_WEBHOOK_SECRET is missing"),
      ),
  });
}
