/**
 * @module What every assistants route can reach: the configuration, the
 * database and the token verifier, carried on Hono's context.
 */
import type { Context, MiddlewareHandler } from "hono";
import { type Caller, createVerifier, type Verifier } from "../_shared/auth.ts";
import { AppError } from "../_shared/app-error.ts";
import { type Config, parseConfig } from "../_shared/config.ts";
import { createDb, type Db } from "../_shared/db.ts";

/** The services a configured function instance uses. */
export interface Deps {
  config: Config;
  db: Db;
  verify: Verifier;
}

/** A function instance: its services, or the configuration problems that prevent them. */
export interface Runtime {
  deps: Deps | null;
  /** Names of missing or invalid variables (never values). */
  problems: string[];
}

/** The Hono environment of the assistants app. */
export type AppEnv = { Variables: { deps: Deps; caller: Caller } };

/**
 * Builds the runtime from an environment object (`Deno.env.toObject()` in index.ts).
 * Never throws: a broken configuration still serves /health, which names the problems.
 * @example const runtime = createRuntime(Deno.env.toObject());
 */
export function createRuntime(env: Record<string, string | undefined>): Runtime {
  const parsed = parseConfig(env);
  if (!parsed.ok) return { deps: null, problems: parsed.problems };
  const config = parsed.config;
  return {
    problems: [],
    deps: {
      config,
      db: createDb({ url: config.databaseUrl, usesPooler: config.usesPooler }),
      verify: createVerifier(config),
    },
  };
}

/**
 * Puts the services on the context.
 * @throws AppError misconfigured (503) when the configuration is broken
 */
export function provideDeps(runtime: Runtime): MiddlewareHandler<AppEnv> {
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
 * Verifies the Authorization header and puts the caller on the context.
 * @throws AppError unauthorized (401) for a missing, expired or badly signed token
 */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("caller", await c.get("deps").verify(c.req.header("authorization")));
    await next();
  };
}

/** The request's services and caller, for route handlers behind {@link authenticate}. */
export function scope(c: Context<AppEnv>): Deps & { caller: Caller } {
  return { ...c.get("deps"), caller: c.get("caller") };
}
