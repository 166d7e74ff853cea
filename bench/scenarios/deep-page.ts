/**
 * @module Scenario 2, one page deep in a big folder: the last page of a folder
 * of 20,000 files as the user, ours (keyset cursor) against `list()` with an
 * offset, with the first page of each and the keyset SQL limit beside them.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import { contender, type ContenderResult, measure } from "../lib/report.ts";
import { judge, ratio, repeatWithin, type Scenario } from "../lib/scenario.ts";
import { BUCKET, flatPaths, home, insertObjects } from "../lib/seed.ts";
import { asUser, oursPage, sqlKeysetPage } from "../lib/listing.ts";

const SIZES = {
  full: { files: 20_000, reps: 20, slowReps: 3, budgetMs: 60_000 },
  quick: { files: 5_000, reps: 10, slowReps: 1, budgetMs: 10_000 },
  tiny: { files: 250, reps: 3, slowReps: 1, budgetMs: 5_000 },
};
const PAGE = 100;

async function listAt(client: SupabaseClient, folder: string, offset: number): Promise<number> {
  const { data, error } = await client.storage.from(BUCKET).list(folder, { limit: PAGE, offset });
  if (error) throw new Error(`list("${folder}", offset ${offset}) failed: ${error.message}`);
  if (data.length !== PAGE) throw new Error(`list at offset ${offset} gave ${data.length} entries`);
  return data.length;
}

/** Scenario 2. */
export const deepPage: Scenario = {
  name: "deep-page",
  title: "The last page of a big folder",
  goal: "our last page within 1.5x of our first, and >= 100x faster than list() at that offset",
  async run({ bench, mode, log }) {
    const size = SIZES[mode];
    const user = await bench.createUser("deep");
    const folder = `big`;
    const prefix = home(user.id) + folder + "/";
    log(`seeding ${size.files} object rows in one folder`);
    await insertObjects(bench.sql, BUCKET, flatPaths(home(user.id) + folder, size.files));
    const client = bench.userClient(user.token);
    const lastOffset = size.files - PAGE;

    log("walking our pages to find the last page's cursor (untimed)");
    let cursor: string | null = null;
    let lastCursor: string | null = null;
    let pages = 0;
    do {
      lastCursor = cursor;
      const page: Awaited<ReturnType<typeof oursPage>> = await oursPage(
        bench,
        user.token,
        BUCKET,
        folder + "/",
        { limit: PAGE, cursor },
      ).catch((e) => {
        throw new Error(`walking our pages: ${e.message}`);
      });
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    const lastName = (await asUser(
      bench.projectSql,
      user.id,
      (tx) => sqlKeysetPage(tx, BUCKET, prefix, prefix, lastOffset),
    )).at(-1)?.name ?? prefix;

    const time = (
      name: string,
      opts: { ours: boolean; compareTo?: string; note?: string },
      reps: number,
      fn: () => Promise<unknown>,
    ): Promise<ContenderResult> =>
      measure(name, { ...opts, n: PAGE }, async () => {
        log(name);
        // A warm-up run only where it is cheap: the offset page takes tens of seconds.
        const warmup = reps > size.slowReps;
        const { samples } = await repeatWithin(reps, size.budgetMs, fn, undefined, warmup);
        return contender(name, samples, { ...opts, n: PAGE, calls: 1 });
      });
    const LAST = "ours: last page (keyset cursor)";
    const FIRST = "ours: first page";
    const pageOf = async (c: string | null) => {
      const page = await oursPage(bench, user.token, BUCKET, folder + "/", {
        limit: PAGE,
        cursor: c,
      });
      if (page.items.length === 0) throw new Error("our page came back empty");
    };
    const contenders = [
      await time(
        LAST,
        { ours: true, note: `page ${pages} of ${pages}` },
        size.reps,
        () => pageOf(lastCursor),
      ),
      await time(FIRST, { ours: true, compareTo: LAST }, size.reps, () => pageOf(null)),
      await time(
        `list() at offset ${lastOffset}`,
        { ours: false, compareTo: LAST, note: "as the user" },
        size.slowReps,
        () => listAt(client, home(user.id) + folder, lastOffset),
      ),
      await time(
        "list() at offset 0",
        { ours: false, compareTo: FIRST },
        size.reps,
        () => listAt(client, home(user.id) + folder, 0),
      ),
      await time(
        "limit: keyset SQL, last page",
        { ours: false, compareTo: LAST, note: "as authenticated under RLS" },
        size.reps,
        () =>
          asUser(
            bench.projectSql,
            user.id,
            (tx) => sqlKeysetPage(tx, BUCKET, prefix, lastName, PAGE),
          ),
      ),
    ];
    const [last, first, offsetLast] = contenders;
    const flat = ratio(last.median_ms, first.median_ms);
    const vsOffset = ratio(offsetLast.median_ms, last.median_ms);
    return {
      n: size.files,
      contenders,
      goalMet: judge([
        flat === null ? null : flat <= 1.5,
        vsOffset === null ? null : vsOffset >= 100,
      ]),
      goalDetail: `our last/first page ${flat ?? "-"}x (<= 1.5), offset page/our last page ` +
        `${vsOffset ?? "-"}x (>= 100)`,
      notes: [`${size.files} files in one folder, pages of ${PAGE}; rows seeded in SQL`],
    };
  },
};
