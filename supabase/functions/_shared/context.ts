/**
 * @module What every route of a function can reach, carried on Hono's context:
 * the configuration, the database, the token verifier (plus what a function
 * adds, e.g. the storage function's Storage-API gateway) and the verified caller.
 */
import type { Context, MiddlewareHandler } from "hono";
import { type Caller, createVerifier, type Verifier } from "./auth.ts";
import { AppError } from "./app-error.ts";
import { type Config, parseConfig } from "./config.ts";
import { createDb, type Db } from "./db.ts";

/** The services every configured function instance uses. */
export interface BaseDeps {
  config: Config;
  db: Db;
  verify: Verifier;
}

/** A function instance: its services, or the configuration problems that prevent them. */
export interface Runtime<D extends BaseDeps = BaseDeps> {
  deps: D | null;
  /** Names of missing or invalid variables (never values). */
  problems: string[];
}

/** The Hono environment of a function's app. */
export type AppEnv<D extends BaseDeps = BaseDeps> = { Variables: { deps: D; caller: Caller } };

/**
 * Builds the runtime from an environment object (`Deno.env.toObject()` in index.ts).
 * Never throws: a broken configuration still serves /health, which names the problems.
 * @param extend adds the function's own services to the shared ones
 * @example const runtime = createRuntime(Deno.env.toObject(), (base) => base);
 */
export function createRuntime<D extends BaseDeps>(
  env: Record<string, string | undefined>,
  extend: (base: BaseDeps) => D,
): Runtime<D> {
  const parsed = parseConfig(env);
  if (!parsed.ok) return { deps: null, problems: parsed.problems };
  const config = parsed.config;
  return {
    problems: [],
    deps: extend({
      config,
      db: createDb({ url: config.databaseUrl, usesPooler: config.usesPooler }),
      verify: createVerifier(config),
    }),
  };
}

/**
 * Puts the services on the context.
 * @throws AppError misconfigured (503) when the configuration is broken
 */
export function provideDeps<D extends BaseDeps>(runtime: Runtime<D>): MiddlewareHandler<AppEnv<D>> {
  return async (c, next) => {
    if (!runtime.deps) {
      throw new AppError("misconfigured", "Cannot serve: the function is not configured", {
        details: { problems: runtime.problems },
      });
    }
    c.set("deps", runtime.deps);
    await next();
  };
}

/**
 * Verifies the request's credentials (`Authorization`, `apikey`) and puts the caller
 * on the context.
 * @throws the library's AuthError (401, mapped by errors.ts) for missing, expired or
 *   badly signed credentials
 */
export function authenticate<D extends BaseDeps>(): MiddlewareHandler<AppEnv<D>> {
  return async (c, next) => {
    c.set("caller", await c.get("deps").verify(c.req.raw));
    await next();
  };
}

/** The request's services and caller, for route handlers behind {@link authenticate}. */
export function scope<D extends BaseDeps>(c: Context<AppEnv<D>>): D & { caller: Caller } {
  return { ...c.get("deps"), caller: c.get("caller") };
}
