/**
 * @module The assistants app: base path `/assistants`, CORS, the body limit,
 * `/health` and `/openapi.json` (both without authentication), then the
 * mapping, lookup and position routes, one error handler and a JSON 404.
 */
import { corsMiddleware } from "../_shared/cors.ts";
import { createApi, decodablePath, limitBody, notFound, onError } from "../_shared/http.ts";
import { type AppEnv, provideDeps, type Runtime } from "./context.ts";
import { healthRoutes } from "./routes/health.ts";
import { lookupRoutes } from "./routes/lookup.ts";
import { meRoutes } from "./routes/me.ts";
import { positionRoutes } from "./routes/positions.ts";

/** Largest body any assistants route accepts (ids and a number). */
const MAX_BODY_BYTES = 16 * 1024;

/**
 * Builds the app of one function instance.
 * @example Deno.serve(createApp(createRuntime(Deno.env.toObject())).fetch);
 */
export function createApp(runtime: Runtime) {
  const app = createApi<AppEnv>().basePath("/assistants");
  app.use("*", corsMiddleware());
  app.use("*", decodablePath());
  app.use("*", limitBody(MAX_BODY_BYTES));
  app.route("/health", healthRoutes(runtime));
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "secretKey", {
    type: "apiKey",
    in: "header",
    name: "apikey",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "webhookSecret", {
    type: "apiKey",
    in: "header",
    name: "x-webhook-secret",
  });
  app.doc("/openapi.json", {
    openapi: "3.0.3",
    info: {
      title: "Stowage assistants",
      version: "1.0.0",
      description: "The voice assistant reverse mapping and last positions.",
    },
    servers: [{ url: "/functions/v1" }],
  });
  // Registered after /health and /openapi.json: those answer even when misconfigured.
  app.use("*", provideDeps(runtime));
  app.route("/", meRoutes);
  app.route("/", lookupRoutes);
  app.route("/", positionRoutes);
  app.onError(onError);
  app.notFound(notFound);
  return app;
}
