/**
 * @module Scenario 1, recursive listing of one user's home: ours
 * (`GET /objects?recursive=true`, pages of 1000) against the naive
 * supabase-js loop (as the user on a subset, and with the service key),
 * `listV2` without a delimiter as the user, and the limit (keyset SQL as
 * `authenticated` under RLS).
 */
import { contender, measure } from "../lib/report.ts";
import { judge, ratio, repeatWithin, type Scenario } from "../lib/scenario.ts";
import { BUCKET, home, insertObjects, nestedPaths, OTHER_BUCKET } from "../lib/seed.ts";
import { type Listed, listV2All, naiveListAll, oursListAll, sqlListAll } from "../lib/listing.ts";

/**
 * Layout per mode: top folders x subfolders x files; the subset has fewer folders and sits in a
 * bucket of its own, so each of the naive loop's calls scans only the subset's rows.
 */
const SIZES = {
  full: { top: 20, sub: 50, files: 100, subsetTop: 2, subsetSub: 50, reps: 5, slowReps: 3 },
  quick: { top: 5, sub: 10, files: 100, subsetTop: 1, subsetSub: 5, reps: 3, slowReps: 1 },
  tiny: { top: 2, sub: 2, files: 10, subsetTop: 1, subsetSub: 2, reps: 2, slowReps: 1 },
};

function check(listed: Listed, expected: number, who: string): Listed {
  if (listed.files !== expected) {
    throw new Error(`${who} listed ${listed.files} files, expected ${expected}`);
  }
  return listed;
}

/** Scenario 1. */
export const recursiveListing: Scenario = {
  name: "recursive-listing",
  title: "Recursive listing of one user's home",
  goal: "ours within 2x of the SQL limit, >= 10x faster than listV2 as the user, " +
    ">= 5x faster than the naive loop with the service key",
  async run({ bench, mode, log }) {
    const size = SIZES[mode];
    const main = await bench.createUser("listing");
    const small = await bench.createUser("listing-subset");
    const total = size.top * size.sub * size.files;
    const subsetTotal = size.subsetTop * size.subsetSub * size.files;
    // Repetitions stop once a contender has used this much: the slow ones get one or two.
    const budgetMs = mode === "full" ? 60_000 : 10_000;
    log(`seeding ${total} + ${subsetTotal} object rows`);
    await insertObjects(
      bench.sql,
      BUCKET,
      nestedPaths(size.top, size.sub, size.files).map((p) => home(main.id) + p),
    );
    await insertObjects(
      bench.sql,
      OTHER_BUCKET,
      nestedPaths(size.subsetTop, size.subsetSub, size.files).map((p) =>
        home(small.id, OTHER_BUCKET) + p
      ),
      { mimetype: "application/gzip" },
    );
    const user = bench.userClient(main.token);
    const smallUser = bench.userClient(small.token);
    const service = bench.serviceClient();
    const folder = home(main.id).slice(0, -1);

    const OURS = "ours: GET /objects recursive";
    const OURS_SUB = "ours, on the subset";
    const run = async (
      name: string,
      opts: { ours: boolean; n: number; compareTo?: string; note?: string },
      reps: number,
      fn: () => Promise<Listed>,
      warmup = false,
    ) =>
      await measure(name, opts, async () => {
        log(name);
        const { samples, last } = await repeatWithin(reps, budgetMs, fn, undefined, warmup);
        return contender(name, samples, { ...opts, calls: last.calls });
      });

    const contenders = [
      await run(
        OURS,
        { ours: true, n: total, note: "pages of 1000" },
        size.reps,
        async () => check(await oursListAll(bench, main.token, BUCKET, ""), total, "ours"),
        true,
      ),
      await run(
        "limit: keyset SQL under RLS",
        { ours: false, n: total, compareTo: OURS, note: "as authenticated, pages of 1000" },
        size.reps,
        async () =>
          check(await sqlListAll(bench.projectSql, main.id, BUCKET, home(main.id)), total, "SQL"),
        true,
      ),
      await run(
        "naive list() loop, service key",
        { ours: false, n: total, compareTo: OURS },
        size.slowReps,
        async () => check(await naiveListAll(service, BUCKET, folder), total, "naive (service)"),
      ),
      await run(
        "listV2 without delimiter, as the user",
        { ours: false, n: total, compareTo: OURS },
        size.slowReps,
        async () => check(await listV2All(user, BUCKET, home(main.id)), total, "listV2"),
      ),
      await run(
        OURS_SUB,
        { ours: true, n: subsetTotal, note: `another user, ${subsetTotal} objects` },
        size.reps,
        async () =>
          check(
            await oursListAll(bench, small.token, OTHER_BUCKET, ""),
            subsetTotal,
            "ours (subset)",
          ),
        true,
      ),
      await run(
        "naive list() loop as the user (subset)",
        {
          ours: false,
          n: subsetTotal,
          compareTo: OURS_SUB,
          note: `${subsetTotal} objects, not ${total}: every call rescans the bucket under RLS`,
        },
        1,
        async () =>
          check(
            await naiveListAll(smallUser, OTHER_BUCKET, home(small.id, OTHER_BUCKET).slice(0, -1)),
            subsetTotal,
            "naive (user)",
          ),
      ),
    ];
    const [ours, sqlLimit, naiveService, listV2] = contenders;
    const overLimit = ratio(ours.median_ms, sqlLimit.median_ms);
    const vsListV2 = ratio(listV2.median_ms, ours.median_ms);
    const vsNaive = ratio(naiveService.median_ms, ours.median_ms);
    return {
      n: total,
      contenders,
      goalMet: judge([
        overLimit === null ? null : overLimit <= 2,
        vsListV2 === null ? null : vsListV2 >= 10,
        vsNaive === null ? null : vsNaive >= 5,
      ]),
      goalDetail: `ours/SQL limit ${overLimit ?? "-"}x (<= 2), listV2/ours ${vsListV2 ?? "-"}x ` +
        `(>= 10), naive service/ours ${vsNaive ?? "-"}x (>= 5)`,
      notes: [
        `${size.top} top folders x ${size.sub} folders x ${size.files} files; rows seeded in SQL`,
        `the subset (${size.subsetTop} x ${size.subsetSub} folders x ${size.files} files) is ` +
        `another user's home in ${OTHER_BUCKET}, a bucket holding only those rows: the naive ` +
        "loop as the user rescans the bucket under RLS on every call, and would take far " +
        "longer over the full set",
      ],
    };
  },
};
