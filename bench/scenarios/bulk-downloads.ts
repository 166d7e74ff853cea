/**
 * @module Scenario 5, bulk download links: `POST /downloads` for 1000 paths
 * against `createSignedUrl` called once per path (one after another, and 10
 * at a time), with the Storage API's own bulk `createSignedUrls` beside them.
 */
import { contender, type ContenderResult, measure } from "../lib/report.ts";
import { judge, ratio, repeatWithin, type Scenario } from "../lib/scenario.ts";
import { BUCKET, flatPaths, home, insertObjects } from "../lib/seed.ts";
import { pool } from "../lib/stats.ts";

const SIZES = {
  full: { paths: 1000, reps: 10, slowReps: 3, budgetMs: 30_000 },
  quick: { paths: 1000, reps: 5, slowReps: 1, budgetMs: 10_000 },
  tiny: { paths: 20, reps: 2, slowReps: 1, budgetMs: 5_000 },
};

/** Scenario 5. */
export const bulkDownloads: Scenario = {
  name: "bulk-downloads",
  title: "Bulk download links",
  goal: "POST /downloads >= 20x faster than 1000 sequential createSignedUrl calls",
  async run({ bench, mode, log }) {
    const size = SIZES[mode];
    const user = await bench.createUser("links");
    const rel = flatPaths("course", size.paths);
    const keys = rel.map((p) => home(user.id) + p);
    log(`seeding ${size.paths} object rows`);
    await insertObjects(bench.sql, BUCKET, keys);
    const client = bench.userClient(user.token);
    const signOne = async (key: string) => {
      const { error } = await client.storage.from(BUCKET).createSignedUrl(key, 3600);
      if (error) throw new Error(`createSignedUrl("${key}") failed: ${error.message}`);
    };
    const time = (
      name: string,
      opts: { ours: boolean; compareTo?: string; note?: string },
      reps: number,
      calls: number,
      fn: () => Promise<unknown>,
    ): Promise<ContenderResult> =>
      measure(name, { ...opts, n: size.paths }, async () => {
        log(name);
        // A warm-up run only where it is cheap (the one-call contenders).
        const { samples } = await repeatWithin(reps, size.budgetMs, fn, undefined, calls === 1);
        return contender(name, samples, { ...opts, n: size.paths, calls });
      });
    const OURS = `ours: POST /downloads (${size.paths} paths)`;
    const contenders = [
      await time(OURS, { ours: true }, size.reps, 1, async () => {
        const r = await bench.call<{ urls: { signedUrl?: string }[] }>(
          "storage",
          user.token,
          "POST",
          "/downloads",
          { bucket: BUCKET, paths: rel },
        );
        const signed = r.urls.filter((u) => u.signedUrl).length;
        if (signed !== size.paths) {
          throw new Error(`POST /downloads signed ${signed} of ${size.paths}`);
        }
      }),
      await time(
        `createSignedUrl x ${size.paths}, sequential`,
        { ours: false, compareTo: OURS, note: "as the user" },
        size.slowReps,
        size.paths,
        async () => {
          for (const key of keys) await signOne(key);
        },
      ),
      await time(
        `createSignedUrl x ${size.paths}, 10 at a time`,
        { ours: false, compareTo: OURS, note: "as the user" },
        size.slowReps,
        size.paths,
        () => pool(keys.length, 10, (i) => signOne(keys[i])),
      ),
      await time(
        "Storage API createSignedUrls (bulk)",
        { ours: false, compareTo: OURS, note: "as the user; no expiresAt, no per-path codes" },
        size.reps,
        1,
        async () => {
          const { data, error } = await client.storage.from(BUCKET).createSignedUrls(keys, 3600);
          if (error) throw new Error(`createSignedUrls failed: ${error.message}`);
          const bad = data.filter((d) => d.error).length;
          if (bad) throw new Error(`createSignedUrls failed on ${bad} paths`);
        },
      ),
    ];
    const [ours, sequential] = contenders;
    const vsSequential = ratio(sequential.median_ms, ours.median_ms);
    return {
      n: size.paths,
      contenders,
      goalMet: judge([vsSequential === null ? null : vsSequential >= 20]),
      goalDetail: `sequential/ours ${vsSequential ?? "-"}x (>= 20)`,
      notes: [`${size.paths} files of one user, rows seeded in SQL`],
    };
  },
};
