/**
 * @module A second stack starts beside the test stack on other ports and
 * folder, answers, and leaves no process behind when stopped with SIGTERM.
 */
import assert from "node:assert/strict";
import { spawnStack } from "./spawn.ts";
import { stack as testStack } from "../tests/support/stack.ts";

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
  try {
    await secondStack(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

async function secondStack(dir: string): Promise<void> {
  const stack = await spawnStack(dir);
  let started: number[] = [];
  try {
    const creds = JSON.parse(await Deno.readTextFile(stack.credentialsPath));
    assert.notEqual(creds.url, (await testStack()).url, "the second stack has its own port");
    assert.deepEqual(creds.users.map((u: { email: string }) => u.email).sort(), [
      "alice@example.com",
      "bob@example.com",
      "carol@example.com",
    ]);
    const res = await fetch(`${creds.url}/functions/v1/storage/health`);
    await res.body?.cancel();
    assert.equal(res.status, 200);
    started = await descendants(stack.pid);
    assert.ok(started.length >= 3, "postgres, its workers and the functions run");
  } finally {
    assert.equal(await stack.stop(), 0, "the stack exits cleanly on SIGTERM");
  }
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(started.filter(alive), [], "no process is left behind");
}
