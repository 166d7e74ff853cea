/**
 * @module Scenario 4, upload signing: `POST /uploads` (reserve + sign) against
 * a bare `createSignedUploadUrl` as the user, alone and at 50 concurrent
 * clients, p50 and p99 per request. The bare call gets its reservation
 * written in SQL beforehand (untimed): our insert policy refuses a signed
 * upload without one, and the bare call is meant to cost only the signing.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import { contender, type ContenderResult, measure } from "../lib/report.ts";
import { judge, ratio, type Scenario } from "../lib/scenario.ts";
import { BUCKET, home, reserveRows } from "../lib/seed.ts";
import { pool } from "../lib/stats.ts";
import type { Bench, BenchUser } from "../lib/stack.ts";

const SIZES = {
  full: { alone: 300, concurrent: 50, crowd: 1000, warmup: 10 },
  quick: { alone: 100, concurrent: 50, crowd: 300, warmup: 5 },
  tiny: { alone: 5, concurrent: 5, crowd: 10, warmup: 1 },
};

function ours(bench: Bench, user: BenchUser, path: string): Promise<unknown> {
  return bench.call("storage", user.token, "POST", "/uploads", {
    bucket: BUCKET,
    path,
    size: 100,
    contentType: "application/json",
  });
}

async function bare(client: SupabaseClient, key: string): Promise<void> {
  const { error } = await client.storage.from(BUCKET).createSignedUploadUrl(key);
  if (error) throw new Error(`createSignedUploadUrl("${key}") failed: ${error.message}`);
}

/** Scenario 4. */
export const uploadSigning: Scenario = {
  name: "upload-signing",
  title: "Upload signing, alone and concurrent",
  goal: "p99 of POST /uploads <= 2x the bare createSignedUploadUrl's at 50 concurrent clients",
  async run({ bench, mode, log }) {
    const size = SIZES[mode];
    const user = await bench.createUser("sign", "paid");
    const client = bench.userClient(user.token);
    let seq = 0;
    const run = (
      name: string,
      opts: { ours: boolean; compareTo?: string; note?: string },
      total: number,
      limit: number,
      kind: "ours" | "bare",
    ): Promise<ContenderResult> =>
      measure(name, { ...opts, n: total }, async () => {
        log(name);
        const tag = `${kind}-${++seq}`;
        const paths = Array.from({ length: total + size.warmup }, (_, i) => `${tag}/f${i}.json`);
        if (kind === "bare") {
          await reserveRows(
            bench.sql,
            user.id,
            BUCKET,
            paths.map((p) => home(user.id) + p),
          );
        }
        const call = (p: string) =>
          kind === "ours" ? ours(bench, user, p) : bare(client, home(user.id) + p);
        for (let i = 0; i < size.warmup; i++) await call(paths[total + i]);
        const { latencies } = await pool(total, limit, (i) => call(paths[i]));
        return contender(name, latencies, { ...opts, n: total, calls: total });
      });

    const OURS_1 = "ours: POST /uploads, 1 client";
    const OURS_N = `ours: POST /uploads, ${size.concurrent} concurrent`;
    const contenders = [
      await run(OURS_1, { ours: true }, size.alone, 1, "ours"),
      await run(
        "bare createSignedUploadUrl, 1 client",
        { ours: false, compareTo: OURS_1 },
        size.alone,
        1,
        "bare",
      ),
      await run(OURS_N, { ours: true }, size.crowd, size.concurrent, "ours"),
      await run(
        `bare createSignedUploadUrl, ${size.concurrent} concurrent`,
        { ours: false, compareTo: OURS_N },
        size.crowd,
        size.concurrent,
        "bare",
      ),
    ];
    const [o1, b1, oN, bN] = contenders;
    const p99 = ratio(oN.p99_ms, bN.p99_ms);
    return {
      n: size.crowd,
      contenders,
      goalMet: judge([p99 === null ? null : p99 <= 2]),
      goalDetail: `p99 ours/bare at ${size.concurrent} concurrent ${p99 ?? "-"}x (<= 2); ` +
        `alone: p50 ${o1.median_ms ?? "-"} vs ${b1.median_ms ?? "-"} ms, ` +
        `p99 ${o1.p99_ms ?? "-"} vs ${b1.p99_ms ?? "-"} ms`,
      notes: [
        "per-request latencies; reps = requests; ratio column = median over ours, " +
        "the goal is on p99 (see the p99 column)",
        "ours reserves quota (one locked SQL call) then signs through the Storage API; the bare " +
        "call only signs (its reservation was written in SQL beforehand, untimed)",
      ],
    };
  },
};
