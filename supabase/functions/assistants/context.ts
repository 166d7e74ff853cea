/**
 * @module The assistants function's context: the shared services (see
 * `_shared/context.ts`), nothing of its own.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { Caller } from "../_shared/auth.ts";
import * as shared from "../_shared/context.ts";

/** The services of a configured assistants function. */
export type Deps = shared.BaseDeps;

/** The assistants function's runtime. */
export type Runtime = shared.Runtime<Deps>;

/** The Hono environment of the assistants app. */
export type AppEnv = shared.AppEnv<Deps>;

/**
 * Builds the runtime from an environment object; never throws (see `_shared/context.ts`).
 * @example const runtime = createRuntime(Deno.env.toObject());
 */
export function createRuntime(env: Record<string, string | undefined>): Runtime {
  return shared.createRuntime(env, (base) => base);
}

/** Puts the services on the context; 503 misconfigured when the configuration is broken. */
export const provideDeps: (runtime: Runtime) => MiddlewareHandler<AppEnv> = shared.provideDeps;

/** Verifies the Authorization header and puts the caller on the context (401 otherwise). */
export const authenticate: () => MiddlewareHandler<AppEnv> = shared.authenticate;

/** The request's services and caller, for route handlers behind {@link authenticate}. */
export const scope: (c: Context<AppEnv>) => Deps & { caller: Caller } = shared.scope;
