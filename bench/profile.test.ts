/** @module Unit tests of `deno task bench:profile`'s flags and its reading of process roles. */
import assert from "node:assert/strict";
import { cpuTicks } from "../stack/process-tree.ts";
import { parseProfileArgs, roleOf } from "./profile.ts";

Deno.test("bench:profile reads its flags and refuses bad ones", () => {
  assert.deepEqual(parseProfileArgs([]), {
    requests: 2000,
    lookups: 2000,
    out: "bench/results/profile.json",
  });
  assert.deepEqual(
    parseProfileArgs(["--requests", "500", "--lookups=300", "--out", "/tmp/p.json"]),
    {
      requests: 500,
      lookups: 300,
      out: "/tmp/p.json",
    },
  );
  assert.throws(() => parseProfileArgs(["--requests", "0"]), /positive whole number/);
  assert.throws(() => parseProfileArgs(["--requests", "1e3"]), /positive whole number/);
  assert.throws(() => parseProfileArgs(["--out"]), /needs a value/);
  assert.throws(() => parseProfileArgs(["--fast"]), /Unknown flag "--fast"/);
});

Deno.test("bench:profile tells the stack's processes apart by their command lines", () => {
  assert.equal(roleOf("deno run -A stack/main.ts", true), "gateway + Storage API double");
  assert.equal(
    roleOf(
      "deno run --no-check /p/stack/function-runner.ts /p/supabase/functions/storage/index.ts 54333 storage",
      false,
    ),
    "function storage",
  );
  assert.equal(
    roleOf("postgres: supabase_storage_admin postgres 127.0.0.1(51126) idle", false),
    "Postgres: supabase_storage_admin",
  );
  assert.equal(
    roleOf("postgres: postgres postgres 127.0.0.1(4) SELECT", false),
    "Postgres: postgres",
  );
  assert.equal(roleOf("postgres: checkpointer", false), "Postgres: background");
  assert.equal(
    roleOf("/usr/lib/postgresql/15/bin/postgres -D /tmp/x/data -p 5", false),
    "Postgres: background",
  );
  assert.equal(roleOf("deno run /p/stack/watchdog.ts 1", false), "other");
});

Deno.test("cpuTicks counts a process's CPU time, and 0 for a process that is gone", () => {
  const before = cpuTicks(Deno.pid);
  const until = performance.now() + 120;
  let spin = 0;
  while (performance.now() < until) spin++;
  assert.ok(spin > 0);
  assert.ok(cpuTicks(Deno.pid) > before, "100+ ms of CPU is at least one tick");
  assert.equal(cpuTicks(2 ** 22 + 1), 0);
});
