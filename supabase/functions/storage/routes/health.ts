/**
 * @module `GET /health` (no auth): configuration problems (variable names
 * only), database and Storage reachability; 200 when all is well, else 503.
 */
import { healthApp } from "../../_shared/health.ts";
import type { Runtime } from "../context.ts";

/** Builds the health sub-app for a runtime. */
export function health(runtime: Runtime) {
  return healthApp(runtime, {
    database: (deps) => deps.db.ping(),
    storage: (deps) => deps.storage.ping(),
  });
}
