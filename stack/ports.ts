/**
 * @module Every port the local stack binds, all on 127.0.0.1 and all chosen
 * by variables: STOWAGE_PORT (the API gateway, 54321), STOWAGE_DB_PORT
 * (PostgreSQL, 54322) and STOWAGE_INTERNAL_PORT (default STOWAGE_PORT + 10:
 * the internal gateway the functions call as SUPABASE_URL, then one port per
 * function, in name order). A port in use is reported with its variable.
 */

/** One port the stack binds and the variable that chooses it. */
export interface PortUse {
  port: number;
  /** What binds it, e.g. `the API gateway`. */
  role: string;
  /** The variable to change, e.g. `STOWAGE_PORT`. */
  variable: string;
}

/** The stack's ports. */
export interface StackPorts {
  api: number;
  db: number;
  internal: number;
  /** Each function's port. */
  functions: Record<string, number>;
  /** Every port above, with its role and variable. */
  all: PortUse[];
}

function readPort(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${name}="${raw}" is not a TCP port (1-65535)`);
  }
  return port;
}

/**
 * Derives the stack's ports from the environment.
 * @param functionNames the project's functions (each gets a port after the internal one)
 * @throws Error naming the variable when a value is not a port, or two uses overlap
 */
export function stackPorts(
  env: Record<string, string | undefined>,
  functionNames: string[],
): StackPorts {
  const api = readPort(env, "STOWAGE_PORT", 54321);
  const db = readPort(env, "STOWAGE_DB_PORT", 54322);
  const internal = readPort(env, "STOWAGE_INTERNAL_PORT", api + 10);
  const functions: Record<string, number> = {};
  const all: PortUse[] = [
    { port: api, role: "the API gateway", variable: "STOWAGE_PORT" },
    { port: db, role: "PostgreSQL", variable: "STOWAGE_DB_PORT" },
    { port: internal, role: "the functions' internal gateway", variable: "STOWAGE_INTERNAL_PORT" },
  ];
  [...functionNames].sort().forEach((name, i) => {
    functions[name] = internal + 1 + i;
    all.push({
      port: internal + 1 + i,
      role: `function "${name}"`,
      variable: "STOWAGE_INTERNAL_PORT",
    });
  });
  const seen = new Map<number, PortUse>();
  for (const use of all) {
    if (use.port > 65535) {
      throw new Error(`${use.variable} is too high: ${use.role} would need port ${use.port}`);
    }
    const other = seen.get(use.port);
    if (other) {
      throw new Error(
        `Port ${use.port} would serve both ${other.role} (${other.variable}) and ${use.role} (${use.variable}): choose other values`,
      );
    }
    seen.set(use.port, use);
  }
  return { api, db, internal, functions, all };
}

/** The message for a port that is taken. */
export function portInUseMessage(use: PortUse): string {
  return `Port ${use.port} (${use.role}) is already in use on 127.0.0.1: stop what uses it, ` +
    `or choose another port with ${use.variable}, e.g. ${use.variable}=${
      use.port + 1000
    } npm start`;
}

/**
 * Checks that every port is free on 127.0.0.1 by binding it for a moment.
 * @throws Error with {@link portInUseMessage} for the first port in use
 */
export function assertPortsFree(uses: PortUse[]): void {
  for (const use of uses) {
    try {
      Deno.listen({ hostname: "127.0.0.1", port: use.port }).close();
    } catch (error) {
      if (error instanceof Deno.errors.AddrInUse) throw new Error(portInUseMessage(use));
      throw error;
    }
  }
}
