/**
 * @module The storage function's context: the shared services plus the
 * Storage-API gateway (see `_shared/context.ts`).
 */
import type { Context, MiddlewareHandler } from "hono";
import type { Caller } from "../_shared/auth.ts";
import * as shared from "../_shared/context.ts";
import { createStorageGateway, type StorageGateway } from "./domain/storage-api.ts";

/** The services of a configured storage function. */
export interface Deps extends shared.BaseDeps {
  storage: StorageGateway;
}

/** The storage function's runtime. */
export type Runtime = shared.Runtime<Deps>;

/** The Hono environment of the storage app. */
export type AppEnv = shared.AppEnv<Deps>;

/** Builds the runtime from an environment object; never throws (see `_shared/context.ts`). */
export function createRuntime(env: Record<string, string | undefined>): Runtime {
  return shared.createRuntime(
    env,
    (base) => ({ ...base, storage: createStorageGateway(base.config) }),
  );
}

/** Puts the services on the context; 503 misconfigured when the configuration is broken. */
export const provideDeps: (runtime: Runtime) => MiddlewareHandler<AppEnv> = shared.provideDeps;

/** Verifies the Authorization header and puts the caller on the context (401 otherwise). */
export const authenticate: () => MiddlewareHandler<AppEnv> = shared.authenticate;

/** The request's services and caller, for route handlers. */
export const scope: (c: Context<AppEnv>) => Deps & { caller: Caller } = shared.scope;
