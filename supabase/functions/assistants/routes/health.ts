/**
 * @module `GET /health` (no authentication): whether the function is configured
 * and its database answers. Names missing variables, never their values.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { createApi } from "../../_shared/http.ts";
import type { AppEnv, Runtime } from "../context.ts";

/** The health report. */
export const HealthResponse = z
  .object({
    status: z.enum(["ok", "unavailable"]),
    database: z.enum(["ok", "unavailable", "unknown"]),
    webhookSecret: z.enum(["configured", "missing"]),
    problems: z.array(z.string()),
  })
  .openapi("Health");

const healthRoute = createRoute({
  method: "get",
  path: "/health",
  summary: "Report configuration and database reachability",
  responses: {
    200: { description: "Ready", content: { "application/json": { schema: HealthResponse } } },
    503: {
      description: "Not ready: see problems",
      content: { "application/json": { schema: HealthResponse } },
    },
  },
});

/** The health route of a function instance. */
export function healthRoutes(runtime: Runtime) {
  return createApi<AppEnv>().openapi(healthRoute, async (c) => {
    const problems = [...runtime.problems];
    let database: "ok" | "unavailable" | "unknown" = "unknown";
    if (runtime.deps) {
      try {
        await runtime.deps.db.ping();
        database = "ok";
      } catch (error) {
        database = "unavailable";
        problems.push("The database does not answer");
        console.error("[health] database ping failed", error);
      }
    }
    const webhookSecret = runtime.deps?.config.assistantWebhookSecret ? "configured" : "missing";
    const status = problems.length === 0 ? "ok" : "unavailable";
    return c.json(
      { status, database, webhookSecret, problems },
      status === "ok" ? 200 : 503,
    );
  });
}
