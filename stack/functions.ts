/**
 * @module The functions host of the local stack: one Deno process per
 * function under `supabase/functions/<name>/index.ts`, on a loopback port of
 * its own, with the environment the Edge Runtime gives. A process that dies is
 * started again on the next request.
 */
import { join } from "node:path";

/** One function's process. */
interface FunctionProcess {
  name: string;
  port: number;
  child: Deno.ChildProcess;
  exited: boolean;
}

/** Finds a free loopback TCP port. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitForPort(port: number, child: FunctionProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exited) throw new Error(`function ${child.name} exited while starting`);
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`function ${child.name} did not listen on ${port} within ${timeoutMs} ms`);
}

/** Starts and supervises the functions of a project. */
export class FunctionsHost {
  #processes = new Map<string, FunctionProcess>();
  #starting = new Map<string, Promise<FunctionProcess>>();
  #names: Set<string>;
  #closed = false;

  /**
   * @param functionsDir the folder holding one folder per function (`supabase/functions`)
   * @param env the variables every function receives
   * @param logFile where function output goes
   * @param portOf the loopback port of each function (default: a free port at each start)
   */
  constructor(
    private functionsDir: string,
    private env: Record<string, string>,
    private logFile: string,
    names: string[],
    private portOf: (name: string) => number = () => freePort(),
  ) {
    this.#names = new Set(names);
  }

  /** Lists the deployable functions: folders with an index.ts, `_shared` excluded. */
  static async discover(functionsDir: string): Promise<string[]> {
    const names: string[] = [];
    for await (const entry of Deno.readDir(functionsDir)) {
      if (!entry.isDirectory || entry.name.startsWith("_") || entry.name.startsWith(".")) continue;
      try {
        await Deno.stat(join(functionsDir, entry.name, "index.ts"));
        names.push(entry.name);
      } catch { /* not a function */ }
    }
    return names.sort();
  }

  /** Whether `name` is a function of the project. */
  has(name: string): boolean {
    return this.#names.has(name);
  }

  /** The names of the project's functions. */
  get names(): string[] {
    return [...this.#names];
  }

  /** Returns the port of a running process for `name`, starting it when needed. */
  async port(name: string): Promise<number> {
    const running = this.#processes.get(name);
    if (running && !running.exited) return running.port;
    let starting = this.#starting.get(name);
    if (!starting) {
      starting = this.#start(name).finally(() => this.#starting.delete(name));
      this.#starting.set(name, starting);
    }
    return (await starting).port;
  }

  async #start(name: string): Promise<FunctionProcess> {
    if (this.#closed) throw new Error("functions host is stopped");
    const port = this.portOf(name);
    const log = await Deno.open(this.logFile, { create: true, append: true, write: true });
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-check",
        "--allow-net",
        "--allow-env",
        "--allow-read",
        "--allow-sys",
        new URL("./function-runner.ts", import.meta.url).pathname,
        join(this.functionsDir, name, "index.ts"),
        String(port),
        name,
      ],
      cwd: new URL("..", import.meta.url).pathname,
      clearEnv: true,
      env: this.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const proc: FunctionProcess = { name, port, child, exited: false };
    const writer = log.writable.getWriter();
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) await writer.write(chunk).catch(() => {});
    };
    Promise.all([pump(child.stdout), pump(child.stderr)]).finally(() =>
      writer.close().catch(() => {})
    );
    child.status.then(() => {
      proc.exited = true;
    });
    this.#processes.set(name, proc);
    await waitForPort(port, proc, 30_000);
    return proc;
  }

  /** Starts every function now (so the first request does not pay the start-up). */
  async startAll(): Promise<void> {
    await Promise.all(this.names.map((n) => this.port(n)));
  }

  /** Stops every process and waits for them. */
  async stop(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled(this.#starting.values());
    await Promise.all([...this.#processes.values()].map(async (p) => {
      if (!p.exited) {
        try {
          p.child.kill("SIGTERM");
        } catch { /* gone */ }
      }
      const timer = setTimeout(() => {
        try {
          p.child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5000);
      await p.child.status;
      clearTimeout(timer);
    }));
  }
}
