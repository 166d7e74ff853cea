/**
 * `stowage purge` as operators run it: drains the queue of deleted users'
 * homes through the Storage API, resumes after being killed mid-run, and
 * answers bad options with a usage error.
 */
import assert from "node:assert/strict";
import { cliCommand, runCli } from "../support/cli.ts";
import { adminSql, createUser, type TestUser } from "../support/stack.ts";
import { LMS, seedKeys } from "../support/storage.ts";

async function objectsOf(user: TestUser): Promise<number> {
  const sql = await adminSql();
  try {
    const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from storage.objects
      where bucket_id = ${LMS} and starts_with(name, ${`user_data/${user.id}/`})`;
    return n;
  } finally {
    await sql.end();
  }
}

async function deleteAuthUser(user: TestUser): Promise<void> {
  const sql = await adminSql();
  try {
    await sql`delete from auth.users where id = ${user.id}`;
  } finally {
    await sql.end();
  }
}

Deno.test("stowage purge, killed mid-run, loses nothing; the next run finishes the purge", async () => {
  const victim = await createUser();
  const keep = await createUser();
  const keys = (u: TestUser, n: number) =>
    Array.from({ length: n }, (_, i) => `user_data/${u.id}/course/f-${i}.json`);
  await seedKeys(LMS, keys(victim, 1200), 10, "application/json");
  await seedKeys(LMS, keys(keep, 5), 10, "application/json");
  await deleteAuthUser(victim);

  const child = cliCommand(["purge", "--user", victim.id, "--batch-size", "10"]).spawn();
  let killedAt = -1;
  try {
    for (let i = 0; i < 3000; i++) {
      const left = await objectsOf(victim);
      if (left < 1200) {
        child.kill("SIGKILL");
        killedAt = left;
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    if (killedAt < 0) child.kill("SIGKILL");
    await child.output();
  }
  const afterKill = await objectsOf(victim);
  assert.ok(
    afterKill > 0 && afterKill < 1200,
    `the run was interrupted midway (${afterKill} left)`,
  );

  const resumed = await runCli(["purge", "--user", victim.id]);
  assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout);
  assert.match(resumed.stdout, new RegExp(`purge done: ${afterKill} objects deleted`));
  assert.equal(await objectsOf(victim), 0);
  assert.equal(await objectsOf(keep), 5);
  const sql = await adminSql();
  try {
    const [{ queued, usage }] = await sql<{ queued: number; usage: number }[]>`select
      (select count(*)::int from stowage.purge_queue where user_id = ${victim.id}) as queued,
      (select count(*)::int from stowage.usage where user_id = ${victim.id}) as usage`;
    assert.deepEqual({ queued, usage }, { queued: 0, usage: 0 });
  } finally {
    await sql.end();
  }
  // Nothing left to do: a second run is a no-op that succeeds.
  const again = await runCli(["purge", "--json"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout.trim().split("\n").at(-1)!).done, true);
});

Deno.test("stowage purge: --help, bad options (exit 2), a user not queued (exit 1, not_found)", async () => {
  const help = await runCli(["purge", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: stowage purge/);
  for (
    const args of [["--batch-size", "0"], ["--budget-ms", "x"], ["--user", "nope"], ["--what"]]
  ) {
    const bad = await runCli(["purge", ...args]);
    assert.equal(bad.code, 2, `${args.join(" ")}: ${bad.stderr}`);
    assert.match(bad.stderr, /invalid_usage/);
  }
  const user = await createUser();
  const missing = await runCli(["purge", "--user", user.id]);
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, /not_found/);
});
