/**
 * @module Stopping the stack the ways process managers, `kill <pid>` and CI
 * do: SIGINT or SIGTERM sent to the PID of `npm start` alone stops every
 * process of the stack and frees its ports, and the start path leaves the
 * tracked files as they were; a stack whose main process is killed outright
 * is cleaned up by its watchdog; a port in use stops the start with its
 * number and variable.
 */
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { freePort } from "./functions.ts";
import { descendants, isRunning, type ProcessInfo } from "./process-tree.ts";
import { INTERNAL_BLOCK, spawnStack } from "./spawn.ts";

const projectDir = resolve(new URL("..", import.meta.url).pathname);
/** How long a stop may take (the promise `npm start` makes). */
const STOP_DEADLINE_MS = 10_000;

function portFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/** Free ports for one stack: API, DB, and a block for the internal gateway and functions. */
function ports(): { api: number; db: number; internal: number } {
  while (true) {
    const api = freePort();
    const db = freePort();
    const internal = freePort();
    const block = Array.from({ length: INTERNAL_BLOCK }, (_, i) => internal + i);
    if (new Set([api, db, ...block]).size === 2 + block.length && block.every(portFree)) {
      return { api, db, internal };
    }
  }
}

/** What git says about the work tree: status and the diff of tracked files. */
async function treeState(): Promise<string> {
  const git = async (...args: string[]) => {
    const out = await new Deno.Command("git", { args, cwd: projectDir, stdout: "piped" }).output();
    return new TextDecoder().decode(out.stdout);
  };
  return (await git("status", "--porcelain")) + (await git("diff", "HEAD"));
}

async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return await check();
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test({
    name:
      `${signal} to the npm start PID alone stops every process of the stack and frees its ports; tracked files are untouched`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "stowage-stop-" });
      const p = ports();
      const before = await treeState();
      const log = await Deno.open(join(dir, "npm.out"), { create: true, write: true });
      const npm = new Deno.Command("npm", {
        args: ["start"],
        cwd: projectDir,
        env: {
          STOWAGE_PORT: String(p.api),
          STOWAGE_DB_PORT: String(p.db),
          STOWAGE_INTERNAL_PORT: String(p.internal),
          STOWAGE_STACK_DIR: join(dir, "stack"),
          STOWAGE_QUIET: "1",
        },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const out = log.writable.getWriter();
      const pump = async (s: ReadableStream<Uint8Array>) => {
        for await (const c of s) await out.write(c).catch(() => {});
      };
      const pumped = Promise.all([pump(npm.stdout), pump(npm.stderr)]);
      let exited = false;
      const status = npm.status.then((s) => {
        exited = true;
        return s;
      });
      let started: ProcessInfo[] = [];
      try {
        const up = await waitFor(async () => {
          try {
            await Deno.stat(join(dir, "stack/credentials.json"));
            return true;
          } catch {
            return exited;
          }
        }, 240_000);
        assert.ok(up && !exited, "npm start brought the stack up");
        started = descendants(npm.pid);
        const names = started.map((s) => Deno.readTextFileSync(`/proc/${s.pid}/cmdline`));
        assert.ok(names.some((n) => n.includes("stack/main.ts")), "the stack runs under npm");
        assert.ok(names.some((n) => n.includes("postgres")), "PostgreSQL runs under npm");
        assert.ok(names.some((n) => n.includes("function-runner.ts")), "functions run under npm");
        assert.ok(!portFree(p.api) && !portFree(p.db) && !portFree(p.internal));

        // Normal requests through every route print no Deno warning (request.signal...).
        const creds = JSON.parse(await Deno.readTextFile(join(dir, "stack/credentials.json")));
        const alice = creds.users[0];
        const headers = {
          apikey: creds.publishableKey,
          authorization: `Bearer ${alice.accessToken}`,
        };
        for (
          const path of [
            "/storage/v1/bucket",
            "/functions/v1/storage/quota",
            "/auth/v1/user",
            "/examples/web/",
          ]
        ) {
          const res = await fetch(`${creds.url}${path}`, { headers });
          await res.body?.cancel();
          assert.ok(res.status < 500, `${path} answers ${res.status}`);
        }

        Deno.kill(npm.pid, signal);
        const allGone = await waitFor(() => exited && !started.some(isRunning), STOP_DEADLINE_MS);
        const left = started.filter(isRunning).map((s) =>
          `${s.pid} ${Deno.readTextFileSync(`/proc/${s.pid}/cmdline`).replaceAll("\0", " ")}`
        );
        assert.ok(allGone, `everything stopped within 10 s; still running: ${left.join("; ")}`);
        for (const port of [p.api, p.db, p.internal, p.internal + 1, p.internal + 2]) {
          assert.ok(portFree(port), `port ${port} is free again`);
        }
      } finally {
        if (!exited) Deno.kill(npm.pid, "SIGKILL");
        for (const s of started) if (isRunning(s)) Deno.kill(s.pid, "SIGKILL");
        await status;
        await pumped;
        await out.close().catch(() => {});
      }
      assert.equal(await treeState(), before, "npm start left git status as it was");
      const output = await Deno.readTextFile(join(dir, "npm.out")) +
        await Deno.readTextFile(join(dir, "stack/functions.log")).catch(() => "");
      assert.doesNotMatch(output, /legacy behavior|Warning/i, "no Deno warning");
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  });
}

Deno.test("when the stack's main process is killed outright, its watchdog stops the rest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "stowage-kill-" });
  const stack = await spawnStack(dir);
  let started: ProcessInfo[] = [];
  try {
    started = descendants(stack.pid);
    assert.ok(started.length >= 3, "postgres, the functions and the watchdog run");
    Deno.kill(stack.pid, "SIGKILL");
    const gone = await waitFor(() => !started.some(isRunning), STOP_DEADLINE_MS);
    const left = started.filter(isRunning).map((s) =>
      `${s.pid} ${Deno.readTextFileSync(`/proc/${s.pid}/cmdline`).replaceAll("\0", " ")}`
    );
    assert.ok(gone, `left running: ${left.join("; ")}`);
  } finally {
    for (const s of started) if (isRunning(s)) Deno.kill(s.pid, "SIGKILL");
    await stack.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a port in use stops the start with the port and the variable to change", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  const dir = await Deno.makeTempDir({ prefix: "stowage-clash-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", join(projectDir, "stack/main.ts")],
      cwd: projectDir,
      env: { STOWAGE_PORT: String(port), STOWAGE_STACK_DIR: dir, STOWAGE_QUIET: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1);
    assert.match(
      text,
      new RegExp(
        `Port ${port} \\(the API gateway\\) is already in use on 127\\.0\\.0\\.1: stop what uses it, or choose another port with STOWAGE_PORT`,
      ),
    );
    assert.doesNotMatch(text, /Address already in use/);
  } finally {
    taken.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test({
  name: "SIGTERM to the test runner stops its stack and the tests it is running",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "stowage-runner-" });
    const sleeper = join(dir, "sleep.test.ts");
    await Deno.writeTextFile(
      sleeper,
      `Deno.test("sleeps", async () => {
         await Deno.writeTextFile(${JSON.stringify(join(dir, "running"))}, "");
         await new Promise((r) => setTimeout(r, 600_000));
       });\n`,
    );
    const runner = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", join(projectDir, "stack/test-runner.ts"), sleeper],
      cwd: projectDir,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    let exited = false;
    const status = runner.status.then((s) => {
      exited = true;
      return s;
    });
    let started: ProcessInfo[] = [];
    try {
      const running = await waitFor(async () => {
        try {
          await Deno.stat(join(dir, "running"));
          return true;
        } catch {
          return exited;
        }
      }, 240_000);
      assert.ok(running && !exited, "the runner started a stack and the sleeping test");
      started = descendants(runner.pid);
      const names = started.map((s) => Deno.readTextFileSync(`/proc/${s.pid}/cmdline`));
      assert.ok(names.some((n) => n.includes("stack/main.ts")), "its stack runs");
      assert.ok(names.some((n) => n.includes("sleep.test.ts")), "its deno test runs");
      Deno.kill(runner.pid, "SIGTERM");
      const gone = await waitFor(() => exited && !started.some(isRunning), STOP_DEADLINE_MS);
      assert.ok(gone, `left running: ${started.filter(isRunning).map((s) => s.pid)}`);
    } finally {
      if (!exited) Deno.kill(runner.pid, "SIGKILL");
      for (const s of started) if (isRunning(s)) Deno.kill(s.pid, "SIGKILL");
      await status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test("a function process whose parent is killed outright exits by itself", async () => {
  const dir = await Deno.makeTempDir({ prefix: "stowage-orphan-" });
  try {
    const entry = join(dir, "index.ts");
    await Deno.writeTextFile(entry, 'export default { fetch: () => new Response("ok") };\n');
    const port = freePort();
    // A parent that starts the runner, prints its pid, and then only waits.
    const parentScript = join(dir, "parent.ts");
    await Deno.writeTextFile(
      parentScript,
      `const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-check", ${
        JSON.stringify(join(projectDir, "stack/function-runner.ts"))
      },
          ${JSON.stringify(entry)}, "${port}", "orphan"],
        stdout: "null", stderr: "null", stdin: "null",
      }).spawn();
      console.log(child.pid);
      await new Promise(() => {});\n`,
    );
    const parent = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", parentScript],
      stdout: "piped",
      stderr: "null",
      stdin: "null",
    }).spawn();
    const reader = parent.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const childPid = Number((await reader.read()).value?.trim());
    let runner: ProcessInfo | undefined;
    try {
      assert.ok(Number.isInteger(childPid) && childPid > 0, "the runner started");
      runner = descendants(parent.pid).find((p) => p.pid === childPid);
      assert.ok(runner, "the runner is the parent's child");
      assert.ok(await waitFor(() => !portFree(port), 10_000), "the runner listens");
      Deno.kill(parent.pid, "SIGKILL");
      const gone = await waitFor(() => !isRunning(runner!), 5_000);
      assert.ok(gone, "the orphaned runner exited within 5 s");
    } finally {
      if (runner && isRunning(runner)) Deno.kill(runner.pid, "SIGKILL");
      try {
        parent.kill("SIGKILL");
      } catch { /* already gone */ }
      await reader.cancel().catch(() => {});
      await parent.status;
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
