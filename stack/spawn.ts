/**
 * @module Starts a local stack as a child process on free ports in a folder of
 * its own and waits until it is ready (its credentials file exists). Used by
 * the test runner and the benchmarks; `npm start` runs main.ts directly.
 */
import { join, resolve } from "node:path";
import { freePort } from "./functions.ts";

const projectDir = resolve(new URL("..", import.meta.url).pathname);

/** Ports kept free for the internal gateway and the functions (one each). */
export const INTERNAL_BLOCK = 8;

function isFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/** The first port of {@link INTERNAL_BLOCK} free consecutive loopback ports, none in `taken`. */
function freeBlock(taken: number[]): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const start = freePort();
    const block = Array.from({ length: INTERNAL_BLOCK }, (_, i) => start + i);
    if (block.every((p) => p <= 65535 && !taken.includes(p) && isFree(p))) return start;
  }
  throw new Error(`No ${INTERNAL_BLOCK} consecutive free ports found on 127.0.0.1`);
}

/** A stack this process started. */
export interface SpawnedStack {
  /** Path of the stack's credentials.json. */
  credentialsPath: string;
  /** The stack's own output (stdout and stderr). */
  logPath: string;
  pid: number;
  /** Stops the stack (SIGTERM; SIGKILL after 30 s), waits for it, resolves to its exit code; idempotent. */
  stop(): Promise<number>;
}

/**
 * Spawns `stack/main.ts` with STOWAGE_PORT, STOWAGE_DB_PORT and
 * STOWAGE_INTERNAL_PORT (a block of {@link INTERNAL_BLOCK} ports) on free ports
 * and STOWAGE_STACK_DIR = `dir` (plus `options.env`, e.g. `STOWAGE_LEGACY_KEYS: "off"`).
 * The stack stops by itself if this process dies.
 * @throws Error with the end of the stack's output when it exits or is not ready in time
 */
export async function spawnStack(
  dir: string,
  options: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<SpawnedStack> {
  const port = freePort();
  let dbPort = freePort();
  while (dbPort === port) dbPort = freePort();
  const internalPort = freeBlock([port, dbPort]);
  await Deno.mkdir(dir, { recursive: true });
  const logPath = join(dir, "stack.out");
  const out = await Deno.open(logPath, { create: true, write: true, truncate: true });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", join(projectDir, "stack/main.ts")],
    cwd: projectDir,
    env: {
      STOWAGE_PORT: String(port),
      STOWAGE_DB_PORT: String(dbPort),
      STOWAGE_INTERNAL_PORT: String(internalPort),
      STOWAGE_STACK_DIR: dir,
      STOWAGE_QUIET: "1",
      ...options.env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = out.writable.getWriter();
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const c of s) await writer.write(c).catch(() => {});
  };
  const pumped = Promise.all([pump(child.stdout), pump(child.stderr)]).finally(() =>
    writer.close().catch(() => {})
  );
  let exited = false;
  child.status.then(() => exited = true);
  let stopping: Promise<number> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch { /* already gone */ }
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 30_000);
      const status = await child.status;
      clearTimeout(timer);
      await pumped;
      return status.code;
    })();
    return stopping;
  };
  const credentialsPath = join(dir, "credentials.json");
  const deadline = Date.now() + (options.timeoutMs ?? 240_000);
  while (true) {
    try {
      await Deno.stat(credentialsPath);
      break;
    } catch { /* not ready */ }
    if (exited || Date.now() > deadline) {
      await stop();
      const text = await Deno.readTextFile(logPath).catch(() => "");
      throw new Error(`The stack did not start:\n${text.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { credentialsPath, logPath, pid: child.pid, stop };
}
