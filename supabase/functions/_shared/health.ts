/**
 * @module `GET /health` of every function (no auth), one shape for all:
 * `{status, config: {ok, problems}, <check>: {ok, error?}...}`, 200 when the
 * configuration is complete and every check answers, else 503. Problems name
 * variables, never their values.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { createApi } from "./http.ts";
import { toAppError } from "./errors.ts";
import type { AppEnv, BaseDeps, Runtime } from "./context.ts";

/** One reachability check's result. */
export const HealthCheck = z.object({ ok: z.boolean(), error: z.string().optional() });

/** A probe: resolves when the dependency answers. */
export type Probe<D extends BaseDeps> = (deps: D) => Promise<void>;

const TIMEOUT_MS = 3000;

/**
 * Builds the health sub-app (mount it at `/health`).
 * @param checks named probes, e.g. `{database: (d) => d.db.ping()}`
 * @example app.route("/health", healthApp(runtime, { database: (d) => d.db.ping() }))
 */
export function healthApp<D extends BaseDeps, K extends string>(
  runtime: Runtime<D>,
  checks: Record<K, Probe<D>>,
) {
  const names = Object.keys(checks) as K[];
  const shape = Object.fromEntries(names.map((n) => [n, HealthCheck])) as Record<
    K,
    typeof HealthCheck
  >;
  const HealthResponse = z.object({
    status: z.enum(["ok", "unavailable"]),
    config: z.object({ ok: z.boolean(), problems: z.array(z.string()) }),
    ...shape,
  }).openapi("Health");
  const content = { "application/json": { schema: HealthResponse } };
  const route = createRoute({
    method: "get",
    path: "/",
    summary: `Health: configuration and ${names.join(", ")} reachability (no auth)`,
    responses: {
      200: { description: "Configured, and everything answers", content },
      503: { description: "A variable is missing, or something does not answer", content },
    },
  });
  const app = createApi<AppEnv<D>>();
  app.openapi(route, async (c) => {
    const deps = runtime.deps;
    const results = await Promise.all(
      names.map((n) =>
        deps
          ? check(() => checks[n](deps))
          : Promise.resolve({ ok: false, error: "not configured" })
      ),
    );
    const configOk = runtime.problems.length === 0;
    const ok = configOk && results.every((r) => r.ok);
    const body = {
      status: ok ? "ok" as const : "unavailable" as const,
      config: { ok: configOk, problems: runtime.problems },
      ...Object.fromEntries(names.map((n, i) => [n, results[i]])),
    } as z.infer<typeof HealthResponse>;
    return ok ? c.json(body, 200) : c.json(body, 503);
  });
  return app;
}

async function check(probe: () => Promise<void>): Promise<z.infer<typeof HealthCheck>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out")), TIMEOUT_MS);
  });
  try {
    await Promise.race([probe(), timeout]);
    return { ok: true };
  } catch (error) {
    if (error instanceof Error && error.message === "timed out") {
      return { ok: false, error: `timed out after ${TIMEOUT_MS / 1000} s` };
    }
    // A misconfiguration names the variable; other failures say only their code.
    const appError = toAppError(error);
    const exposed = appError.status < 500 || appError.code === "misconfigured";
    return { ok: false, error: exposed ? appError.message : appError.code };
  } finally {
    clearTimeout(timer);
  }
}
