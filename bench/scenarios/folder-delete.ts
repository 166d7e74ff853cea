/**
 * @module Scenario 3, folder delete of 10,000 objects in nested folders:
 * ours (`DELETE /folders` until done) against the naive complete way
 * (recursive `list()` then `remove()` in batches of 1000, as the user and
 * with the service key), the limit (`remove()` of the already-known paths),
 * and what the seed apps' one-level, first-100 version leaves behind.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import { contender, type ContenderResult, measure } from "../lib/report.ts";
import { judge, ratio, repeatWithin, type Scenario } from "../lib/scenario.ts";
import { BUCKET, countObjects, home, insertObjects, nestedPaths } from "../lib/seed.ts";
import { naiveListAll } from "../lib/listing.ts";

const SIZES = {
  full: { top: 2, sub: 50, files: 100, reps: 5, slowReps: 2, budgetMs: 60_000 },
  quick: { top: 2, sub: 5, files: 100, reps: 3, slowReps: 1, budgetMs: 10_000 },
  tiny: { top: 2, sub: 2, files: 10, reps: 1, slowReps: 1, budgetMs: 5_000 },
};

async function removeAll(client: SupabaseClient, keys: readonly string[]): Promise<number> {
  let calls = 0;
  for (let i = 0; i < keys.length; i += 1000) {
    const { data, error } = await client.storage.from(BUCKET).remove(keys.slice(i, i + 1000));
    calls++;
    if (error) throw new Error(`remove() of ${keys.length} paths failed: ${error.message}`);
    if (data.length !== Math.min(1000, keys.length - i)) {
      throw new Error(`remove() removed ${data.length} of ${Math.min(1000, keys.length - i)}`);
    }
  }
  return calls;
}

/** Scenario 3. */
export const folderDelete: Scenario = {
  name: "folder-delete",
  title: "Folder delete of objects in nested folders",
  goal: "ours complete, and within 1.25x of the bare remove() of known paths",
  async run({ bench, mode, log }) {
    const size = SIZES[mode];
    const total = size.top * size.sub * size.files;
    const user = await bench.createUser("delete", "paid");
    const client = bench.userClient(user.token);
    const service = bench.serviceClient();
    const rel = nestedPaths(size.top, size.sub, size.files);
    const folderOf = (tag: string, rep: number) => `${tag}-${rep + 1}`;
    const seed = async (tag: string, rep: number) => {
      await insertObjects(
        bench.sql,
        BUCKET,
        rel.map((p) => `${home(user.id)}${folderOf(tag, rep)}/${p}`),
      );
    };
    const leftIn = (tag: string, rep: number) =>
      countObjects(bench.sql, BUCKET, `${home(user.id)}${folderOf(tag, rep)}/`);
    const complete = async (tag: string, rep: number) => {
      const left = await leftIn(tag, rep);
      if (left !== 0) throw new Error(`${left} of ${total} objects left behind`);
    };

    const time = (
      name: string,
      tag: string,
      opts: { ours: boolean; compareTo?: string; note?: string },
      reps: number,
      fn: (rep: number) => Promise<number>,
    ): Promise<ContenderResult> =>
      measure(name, { ...opts, n: total }, async () => {
        log(name);
        let calls = 0;
        const { samples } = await repeatWithin(reps, size.budgetMs, async (rep) => {
          calls = await fn(rep);
          await complete(tag, rep);
        }, (rep) => seed(tag, rep));
        return contender(name, samples, { ...opts, n: total, calls });
      });

    const OURS = "ours: DELETE /folders until done";
    const BARE = "limit: remove() of the known paths";
    const oursRun = async (rep: number) => {
      let calls = 0;
      for (let done = false; !done;) {
        const r = await bench.call<{ done: boolean; failed: unknown[] }>(
          "storage",
          user.token,
          "DELETE",
          "/folders",
          { bucket: BUCKET, prefix: `${folderOf("ours", rep)}/` },
        );
        calls++;
        if (r.failed.length) throw new Error(`DELETE /folders failed on ${r.failed.length} paths`);
        done = r.done;
        if (calls > 1000) throw new Error("DELETE /folders did not finish in 1000 calls");
      }
      return calls;
    };
    const bareRun = (rep: number) =>
      removeAll(client, rel.map((p) => `${home(user.id)}${folderOf("bare", rep)}/${p}`));
    // Ours and the bare remove alternate repetition by repetition, so that both see the same
    // table state (dead rows, autovacuum) and the same background load: their ratio is the goal.
    const paired = { ours: [] as number[], bare: [] as number[], oursCalls: 0, bareCalls: 0 };
    const pairErrors: Record<string, unknown> = {};
    log(`${OURS} / ${BARE}, alternating`);
    for (let rep = 0; rep < size.reps; rep++) {
      for (const [tag, fn] of [["ours", oursRun], ["bare", bareRun]] as const) {
        if (pairErrors[tag]) continue;
        try {
          await seed(tag, rep);
          const started = performance.now();
          const calls = await fn(rep);
          paired[tag].push(performance.now() - started);
          await complete(tag, rep);
          paired[`${tag}Calls`] = calls;
        } catch (error) {
          pairErrors[tag] = error;
        }
      }
    }
    const pairResult = (
      name: string,
      tag: "ours" | "bare",
      opts: { ours: boolean; compareTo?: string; note?: string },
    ) =>
      measure(name, { ...opts, n: total }, () => {
        if (pairErrors[tag]) throw pairErrors[tag];
        return Promise.resolve(
          contender(name, paired[tag], { ...opts, n: total, calls: paired[`${tag}Calls`] }),
        );
      });
    const contenders = [
      await pairResult(OURS, "ours", { ours: true, note: "as the user" }),
      await pairResult(BARE, "bare", {
        ours: false,
        compareTo: OURS,
        note: "as the user, batches of 1000",
      }),
      await time(
        "naive complete: list() recursion + remove(), as the user",
        "naive-user",
        { ours: false, compareTo: OURS },
        size.slowReps,
        async (rep) => {
          const dir = `${home(user.id)}${folderOf("naive-user", rep)}`;
          const listed = await naiveListAll(client, BUCKET, dir, true);
          return listed.calls + await removeAll(client, listed.keys ?? []);
        },
      ),
      await time(
        "naive complete, service key",
        "naive-service",
        { ours: false, compareTo: OURS },
        size.slowReps,
        async (rep) => {
          const dir = `${home(user.id)}${folderOf("naive-service", rep)}`;
          const listed = await naiveListAll(service, BUCKET, dir, true);
          return listed.calls + await removeAll(service, listed.keys ?? []);
        },
      ),
    ];

    // The seed apps' version: list one level with the default limit (100), remove what it saw.
    log("the seeds' one-level, first-100 delete");
    await seed("seed", 0);
    const dir = `${home(user.id)}${folderOf("seed", 0)}`;
    const started = performance.now();
    const { data, error } = await client.storage.from(BUCKET).list(dir);
    if (error) throw new Error(`the seeds' list("${dir}") failed: ${error.message}`);
    const { error: removeError } = await client.storage.from(BUCKET).remove(
      data.map((e) => `${dir}/${e.name}`),
    );
    if (removeError) throw new Error(`the seeds' remove() failed: ${removeError.message}`);
    const seedMs = performance.now() - started;
    const left = await leftIn("seed", 0);
    contenders.push(contender("seeds' one-level, first-100 delete", [seedMs], {
      ours: false,
      n: total,
      calls: 2,
      compareTo: OURS,
      note: `INCOMPLETE: left ${left} of ${total} objects behind`,
    }));

    const [ours, bare] = contenders;
    const overBare = ratio(ours.median_ms, bare.median_ms);
    return {
      n: total,
      contenders,
      goalMet: judge([ours.error ? null : true, overBare === null ? null : overBare <= 1.25]),
      goalDetail: `ours complete: ${ours.error ? "no" : "yes"}; ours/bare remove ${
        overBare ?? "-"
      }x (<= 1.25)`,
      notes: [
        `${size.top} x ${size.sub} folders x ${size.files} files per run, rows seeded in SQL ` +
        "before each repetition (untimed); every contender but the seeds' is checked complete; " +
        "ours and the bare remove alternate repetitions",
        `the seeds' version left ${left} of ${total} objects (and their quota) behind`,
      ],
    };
  },
};
