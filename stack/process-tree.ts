/**
 * @module The stack's processes as Linux's /proc shows them: the descendants
 * of a PID (with their start times, so a PID the kernel has since reused is
 * never signalled) and a stop that sends SIGTERM, then SIGKILL to whatever is
 * left. Without /proc (macOS) the lists are empty and nothing is signalled.
 */

/** One process, identified by PID and start time (clock ticks since boot). */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Field 22 of /proc/<pid>/stat: with the PID, names the process uniquely. */
  start: string;
}

function readStat(
  pid: number | "self",
): (ProcessInfo & { state: string; cpuTicks: number }) | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const id = pid === "self" ? Number(stat.slice(0, stat.indexOf(" "))) : pid;
    return {
      pid: id,
      state: fields[0],
      ppid: Number(fields[1]),
      start: fields[19],
      cpuTicks: Number(fields[11]) + Number(fields[12]),
    };
  } catch {
    return undefined;
  }
}

/** CPU time `pid` has used so far (user + system), in clock ticks; 0 when it is gone. */
export function cpuTicks(pid: number): number {
  return readStat(pid)?.cpuTicks ?? 0;
}

/** The process `pid` now, or undefined when it is gone or a zombie. */
export function processInfo(pid: number): ProcessInfo | undefined {
  const info = readStat(pid);
  return info && info.state !== "Z"
    ? { pid: info.pid, ppid: info.ppid, start: info.start }
    : undefined;
}

/** Whether `p` still runs (same PID, same start time, not a zombie). */
export function isRunning(p: ProcessInfo): boolean {
  return processInfo(p.pid)?.start === p.start;
}

/** Every living descendant of `root` (children first, then theirs). */
export function descendants(root: number): ProcessInfo[] {
  const all: ProcessInfo[] = [];
  try {
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      const info = processInfo(Number(entry.name));
      if (info) all.push(info);
    }
  } catch {
    return [];
  }
  const found: ProcessInfo[] = [];
  const queue = [root];
  while (queue.length) {
    const parent = queue.shift()!;
    for (const p of all) {
      if (p.ppid === parent) {
        found.push(p);
        queue.push(p.pid);
      }
    }
  }
  return found;
}

function signal(p: ProcessInfo, sig: Deno.Signal): void {
  if (!isRunning(p)) return;
  try {
    Deno.kill(p.pid, sig);
  } catch { /* gone meanwhile */ }
}

/**
 * Stops processes: SIGTERM to each that still runs, then SIGKILL to any still
 * running after `graceMs`. Resolves when none runs (or after the SIGKILL).
 */
export async function stopProcesses(procs: ProcessInfo[], graceMs = 5000): Promise<void> {
  for (const p of procs) signal(p, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (procs.some(isRunning) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const p of procs) signal(p, "SIGKILL");
}
