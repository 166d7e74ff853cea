/**
 * @module The stack's watchdog: a small process the stack starts first, which
 * notes the stack's descendants every half second and, when the stack's main
 * process is gone (even killed with SIGKILL), stops every one of them. It
 * outlives SIGINT and SIGTERM sent to the whole process group (Ctrl-C), so it
 * can still clean up after them; it exits once the stack is gone.
 *
 * Usage: deno run -A stack/watchdog.ts <stack pid> (Deno wants -A to read /proc/<pid>)
 */
import { descendants, type ProcessInfo, processInfo, stopProcesses } from "./process-tree.ts";

const watched = Number(Deno.args[0]);
const target = Number.isInteger(watched) ? processInfo(watched) : undefined;
if (!target) {
  console.error("usage: watchdog.ts <pid of a running process>");
  Deno.exit(2);
}
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  Deno.addSignalListener(sig, () => {});
}

let seen: ProcessInfo[] = [];
while (processInfo(target.pid)?.start === target.start) {
  seen = descendants(target.pid).filter((p) => p.pid !== Deno.pid);
  await new Promise((r) => setTimeout(r, 500));
}
await stopProcesses(seen, 5000);
Deno.exit(0);
