/**
 * @module Scenario 6, assistant lookup: `GET /lookup/:assistantId` (one
 * indexed read, as the voice platform's webhook calls it) against the seed
 * app's way (download the whole JSON mapping and parse it), at a small and at
 * the full number of mappings, to show ours stays flat.
 */
import { contender, type ContenderResult, measure } from "../lib/report.ts";
import { judge, ratio, repeatWithin, type Scenario } from "../lib/scenario.ts";
import { BUCKET } from "../lib/seed.ts";
import type { Bench } from "../lib/stack.ts";

const SIZES = {
  full: { mappings: 10_000, reps: 200, slowReps: 20, budgetMs: 30_000 },
  quick: { mappings: 10_000, reps: 50, slowReps: 5, budgetMs: 10_000 },
  tiny: { mappings: 100, reps: 5, slowReps: 2, budgetMs: 5_000 },
};

interface Mapping {
  assistantId: string;
  userId: string;
  courseId: string;
}

async function addMappings(bench: Bench, count: number, from: number): Promise<Mapping[]> {
  const ids = await bench.createUsers(count, "assistant");
  const rows = await bench.sql<Mapping[]>`
    insert into stowage.assistants (assistant_id, user_id, course_id)
    select 'asst-' || lpad((${from} + i)::text, 6, '0') || '-' || left(u::text, 8), u,
           'course-' || ((${from} + i) % 50)
      from unnest(${ids}::uuid[]) with ordinality as t(u, i)
    returning assistant_id as "assistantId", user_id::text as "userId", course_id as "courseId"`;
  return rows;
}

/** Looks an id up as the webhook does (shared secret header). */
async function lookup(bench: Bench, id: string): Promise<Mapping> {
  const res = await fetch(
    `${bench.credentials.url}/functions/v1/assistants/lookup/${encodeURIComponent(id)}`,
    { headers: { "x-webhook-secret": bench.credentials.assistantWebhookSecret } },
  );
  const text = await res.text();
  if (!res.ok) throw new Error(`GET /lookup/${id} answered ${res.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as Mapping;
}

/** Scenario 6. */
export const assistantLookup: Scenario = {
  name: "assistant-lookup",
  title: "Assistant lookup",
  goal: "GET /lookup >= 20x faster than downloading and parsing the whole mapping, " +
    "and flat in the number of mappings (<= 1.5x from 1% to 100% of them)",
  async run({ bench, mode, log }) {
    const size = SIZES[mode];
    const small = Math.max(10, Math.round(size.mappings / 100));
    const service = bench.serviceClient();
    const mapKey = `bench-assistant-map/${crypto.randomUUID()}.json`;
    const mappings: Mapping[] = [];
    const contenders: ContenderResult[] = [];
    try {
      for (const count of [small, size.mappings]) {
        log(`seeding mappings up to ${count} (SQL rows, and the seed's JSON file through the API)`);
        mappings.push(...await addMappings(bench, count - mappings.length, mappings.length));
        const json = Object.fromEntries(
          mappings.map((m) => [m.assistantId, { user_id: m.userId, course_id: m.courseId }]),
        );
        const { error } = await service.storage.from(BUCKET).upload(mapKey, JSON.stringify(json), {
          contentType: "application/json",
          upsert: true,
        });
        if (error) throw new Error(`uploading the seed's mapping file failed: ${error.message}`);
        // Seeding thousands of users and rows would otherwise wake autovacuum mid-measurement.
        await bench.settle();
        const pick = () => mappings[Math.floor(Math.random() * mappings.length)];
        const OURS = `ours: GET /lookup, ${count} mappings`;
        const time = (
          name: string,
          opts: { ours: boolean; compareTo?: string; note?: string },
          reps: number,
          fn: () => Promise<unknown>,
        ) =>
          measure(name, { ...opts, n: count }, async () => {
            log(name);
            const { samples } = await repeatWithin(reps, size.budgetMs, fn, undefined, true);
            return contender(name, samples, { ...opts, n: count, calls: 1, perSample: 1 });
          });
        contenders.push(
          await time(OURS, { ours: true, note: "webhook secret" }, size.reps, async () => {
            const m = pick();
            const found = await lookup(bench, m.assistantId);
            if (found.userId !== m.userId) throw new Error(`lookup of ${m.assistantId} was wrong`);
          }),
          await time(
            `seed's way: download + parse the mapping, ${count} mappings`,
            {
              ours: false,
              compareTo: OURS,
              note: `${(JSON.stringify(json).length / 1024).toFixed(0)} KiB file`,
            },
            size.slowReps,
            async () => {
              const m = pick();
              const { data, error } = await service.storage.from(BUCKET).download(mapKey);
              if (error) throw new Error(`downloading the mapping failed: ${error.message}`);
              const parsed = JSON.parse(await data.text()) as Record<string, { user_id: string }>;
              if (parsed[m.assistantId]?.user_id !== m.userId) {
                throw new Error("mapping file was wrong");
              }
            },
          ),
        );
      }
    } finally {
      const { error } = await service.storage.from(BUCKET).remove([mapKey]);
      if (error) log(`removing the seed's mapping file failed: ${error.message}`);
    }
    const [oursSmall, , oursLarge, seedLarge] = contenders;
    const vsSeed = ratio(seedLarge?.median_ms, oursLarge?.median_ms);
    const flat = ratio(oursLarge?.median_ms, oursSmall?.median_ms);
    return {
      n: size.mappings,
      contenders,
      goalMet: judge([vsSeed === null ? null : vsSeed >= 20, flat === null ? null : flat <= 1.5]),
      goalDetail: `seed's way/ours at ${size.mappings} ${vsSeed ?? "-"}x (>= 20); ours at ` +
        `${size.mappings}/at ${small} ${flat ?? "-"}x (<= 1.5)`,
      notes: [
        "mappings are SQL rows (one user each); the seed's JSON file is uploaded and " +
        "downloaded through the Storage API with the service key, as the seed app does",
      ],
    };
  },
};
