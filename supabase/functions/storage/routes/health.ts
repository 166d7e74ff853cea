/**
 * @module `GET /health` (no auth): configuration problems (variable names
 * only), database and Storage reachability; 200 when all is well, else 503.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { createApi } from "../../_shared/http.ts";
import { toAppError } from "../../_shared/errors.ts";
import type { AppEnv, Runtime } from "../context.ts";
import { json } from "./schemas.ts";

const Check = z.object({ ok: z.boolean(), error: z.string().optional() });
export const HealthResponse = z.object({
  status: z.enum(["ok", "unavailable"]),
  config: z.object({ ok: z.boolean(), problems: z.array(z.string()) }),
  database: Check,
  storage: Check,
}).openapi("Health");

const route = createRoute({
  method: "get",
  path: "/",
  summary: "Health: configuration, database and storage reachability (no auth)",
  responses: {
    200: json(HealthResponse, "Everything reachable"),
    503: json(HealthResponse, "Something is missing or unreachable"),
  },
});

/** Builds the health sub-app for a runtime. */
export function health(runtime: Runtime) {
  const app = createApi<AppEnv>();
  app.openapi(route, async (c) => {
    const deps = runtime.deps;
    const skipped = { ok: false, error: "not configured" };
    const [database, storage] = deps
      ? await Promise.all([check(() => deps.db.ping()), check(() => deps.storage.ping())])
      : [skipped, skipped];
    const ok = runtime.problems.length === 0 && database.ok && storage.ok;
    const body = {
      status: ok ? "ok" as const : "unavailable" as const,
      config: { ok: runtime.problems.length === 0, problems: runtime.problems },
      database,
      storage,
    };
    return ok ? c.json(body, 200) : c.json(body, 503);
  });
  return app;
}

async function check(probe: () => Promise<void>): Promise<z.infer<typeof Check>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out")), 3000);
  });
  try {
    await Promise.race([probe(), timeout]);
    return { ok: true };
  } catch (error) {
    if (error instanceof Error && error.message === "timed out") {
      return { ok: false, error: "timed out after 3 s" };
    }
    const appError = toAppError(error);
    return { ok: false, error: appError.status >= 500 ? appError.code : appError.message };
  } finally {
    clearTimeout(timer);
  }
}
