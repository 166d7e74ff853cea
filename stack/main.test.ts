/**
 * @module A second stack starts beside the test stack on other ports and
 * folder, answers, and leaves no process behind when stopped with SIGTERM.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort } from "./functions.ts";

/** PIDs of every living descendant of `root`. */
async function descendants(root: number): Promise<number[]> {
  const parent = new Map<number, number>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parent.set(Number(entry.name), Number(fields[1]));
    } catch { /* gone */ }
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const [child, ppid] of parent) {
      if (ppid === pid) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(root);
  return found;
}

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}

Deno.test("a second stack runs beside the first and SIGTERM stops every process it started", async () => {
  const dir = await Deno.makeTempDir({ prefix: "stowage-stack-" });
  const port = freePort();
  const dbPort = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", new URL("./main.ts", import.meta.url).pathname],
    env: {
      STOWAGE_PORT: String(port),
      STOWAGE_DB_PORT: String(dbPort),
      STOWAGE_STACK_DIR: dir,
      STOWAGE_QUIET: "1",
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let started: number[] = [];
  try {
    const deadline = Date.now() + 120_000;
    while (true) {
      try {
        await Deno.stat(join(dir, "credentials.json"));
        break;
      } catch { /* starting */ }
      assert.ok(Date.now() < deadline, "the second stack started in time");
      await new Promise((r) => setTimeout(r, 200));
    }
    const creds = JSON.parse(await Deno.readTextFile(join(dir, "credentials.json")));
    assert.equal(creds.url, `http://127.0.0.1:${port}`);
    assert.deepEqual(creds.users.map((u: { email: string }) => u.email).sort(), [
      "alice@example.com",
      "bob@example.com",
      "carol@example.com",
    ]);
    const res = await fetch(`${creds.url}/functions/v1/storage/health`);
    await res.body?.cancel();
    assert.ok(res.status < 500 || res.status === 503);
    started = await descendants(child.pid);
    assert.ok(started.length >= 3, "postgres, its workers and the functions run");
  } finally {
    child.kill("SIGTERM");
    const status = await child.status;
    await child.stderr.cancel();
    assert.equal(status.code, 0);
  }
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(started.filter(alive), [], "no process is left behind");
  await Deno.remove(dir, { recursive: true });
});
