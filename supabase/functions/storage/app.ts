/**
 * @module The storage function's Hono app: base path `/storage`, CORS, body
 * limit, one sub-app per resource, the OpenAPI document, one error handler.
 */
import { createApi, decodablePath, limitBody, notFound, onError } from "../_shared/http.ts";
import { corsMiddleware } from "../_shared/cors.ts";
import { type AppEnv, provideDeps, type Runtime } from "./context.ts";
import { admin } from "./routes/admin.ts";
import { downloads } from "./routes/downloads.ts";
import { events } from "./routes/events.ts";
import { folders } from "./routes/folders.ts";
import { health } from "./routes/health.ts";
import { objects } from "./routes/objects.ts";
import { quota } from "./routes/quota.ts";
import { uploads } from "./routes/uploads.ts";

/** Paths of the OpenAPI document and of every resource, relative to the base path. */
export const RESOURCES = [
  "/uploads",
  "/objects",
  "/folders",
  "/downloads",
  "/quota",
  "/events",
  "/admin",
];

/**
 * Builds the app for a runtime (services, or the configuration problems).
 * @example Deno.serve(createStorageApp(createRuntime(Deno.env.toObject())).fetch)
 */
export function createStorageApp(runtime: Runtime) {
  const app = createApi<AppEnv>().basePath("/storage");
  app.use("*", corsMiddleware());
  app.use("*", decodablePath());
  app.use("*", limitBody());
  app.route("/health", health(runtime));
  // `servers` is relative: the origin a request reached the function on is the gateway's
  // internal address under the Edge Runtime, never one a client may be given.
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Stowage storage API",
      version: "1.0.0",
      description: "Signed uploads within quotas, deep listing, folder deletion, bulk downloads.",
    },
    servers: [{ url: "/functions/v1" }],
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  // A backend's secret key (sb_secret_..., or the legacy service_role key) in `apikey`.
  app.openAPIRegistry.registerComponent("securitySchemes", "secretKey", {
    type: "apiKey",
    in: "header",
    name: "apikey",
  });
  app.use("*", provideDeps(runtime));
  app.route("/uploads", uploads);
  app.route("/objects", objects);
  app.route("/folders", folders);
  app.route("/downloads", downloads);
  app.route("/quota", quota);
  app.route("/events", events);
  app.route("/admin", admin);
  app.onError(onError);
  app.notFound(notFound);
  return app;
}
