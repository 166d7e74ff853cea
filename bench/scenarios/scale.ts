/**
 * @module Scenario "scale" (issue 20): no request's cost grows with the size
 * of the project. Seeds object rows straight into storage.objects in SQL
 * (triggers off, so the counters are left wrong on purpose: the full paged
 * reconcile through the API then fixes them, and is timed) across 1,000
 * users and the three buckets, plus assistant mappings; then measures every
 * request a user or a backend makes, for one probe user whose own home is the
 * same at both sizes: one listing page, `GET /quota`, `POST /uploads`,
 * `POST /downloads` of 100 paths, a folder delete of 1,000 objects, the
 * assistant lookup and a per-user reconcile, at the small and at the large
 * size. Also `stowage migrate`'s plan (dry run) of a large local source, with
 * its peak RSS.
 */
import { join } from "node:path";
import type postgres from "postgres";
import { contender, type ContenderResult, measure } from "../lib/report.ts";
import { judge, ratio, repeatWithin, type Scenario } from "../lib/scenario.ts";
import { BUCKET, flatPaths, home, insertObjects, nestedPaths } from "../lib/seed.ts";
import type { Bench, BenchUser } from "../lib/stack.ts";

const SIZES = {
  full: {
    small: 10_000,
    large: 1_000_000,
    users: 1000,
    mappings: [100, 10_000],
    migrate: 100_000,
    reps: 30,
    deleteReps: 5,
    budgetMs: 20_000,
  },
  quick: {
    small: 10_000,
    large: 100_000,
    users: 1000,
    mappings: [100, 10_000],
    migrate: 10_000,
    reps: 15,
    deleteReps: 3,
    budgetMs: 10_000,
  },
  tiny: {
    small: 600,
    large: 1_200,
    users: 20,
    mappings: [5, 20],
    migrate: 200,
    reps: 2,
    deleteReps: 1,
    budgetMs: 5_000,
  },
};

/** The three managed buckets and a key in a user's home in each (`g` makes it unique). */
const BUCKETS = ["anantra-lms-store", "audiofiles", "codebegen-projects"];

/** Object rows `from`..`to`-1 spread over `users` and the three buckets, triggers off. */
async function seedRows(sql: postgres.Sql, users: string[], from: number, to: number) {
  await sql.begin(async (tx) => {
    // Superuser only: skips the usage triggers (and the baseline's), as a bulk load would.
    await tx`set local session_replication_role = replica`;
    await tx`
      insert into storage.objects (bucket_id, name, metadata, version)
      select (${BUCKETS}::text[])[1 + x.b],
             case x.b
               when 0 then 'user_data/' || x.u || '/c' || (g % 20) || '/f' || g || '.json'
               when 1 then x.u || '/p' || (g % 10) || '/ch/s/a' || g || '.mp3'
               else x.u || '/proj/generations/v' || g || '__x.tar.gz'
             end,
             jsonb_build_object('eTag', '"bench"', 'size', 100, 'mimetype',
               'application/octet-stream', 'contentLength', 100, 'httpStatusCode', 200,
               'lastModified', now()),
             gen_random_uuid()::text
        from generate_series(${from}::bigint, ${to - 1}::bigint) g,
             lateral (select (${users}::uuid[])[1 + (g % ${users.length})] as u,
                             ((g / ${users.length}) % 3)::int as b) x`;
  });
}

/** Removes the seeded rows (an index range per user and bucket, triggers off). */
async function dropRows(sql: postgres.Sql, users: string[]) {
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`set local jit = off`;
    // LATERAL with OFFSET 0 (not flattened) keeps each range an index scan; a join hashed the
    // whole table and filtered every pair (minutes).
    await tx`
      delete from storage.objects o
       where o.id in (
         select x.id
           from unnest(${users}::uuid[]) u
          cross join stowage.bucket_homes h
          cross join lateral (
            select p.id from storage.objects p
             where p.bucket_id = h.bucket_id
               and p.name collate "C" >= replace(h.home_template, '{uid}', u::text) collate "C"
               and p.name collate "C"
                 < (left(replace(h.home_template, '{uid}', u::text), -1) || '0') collate "C"
             offset 0) x)`;
    await tx`delete from stowage.usage where user_id = any(${users}::uuid[])`;
  });
}

/** Rows for a folder to delete, no analyze (insertObjects analyzes the whole table). */
async function seedFolder(sql: postgres.Sql, names: string[]) {
  await sql`
    insert into storage.objects (bucket_id, name, metadata, version)
    select ${BUCKET}, n, jsonb_build_object('size', 100, 'mimetype', 'application/json',
             'contentLength', 100), gen_random_uuid()::text
      from unnest(${names}::text[]) n`;
}

/** Walks the whole paged reconcile through the API; returns calls, users checked and fixed. */
async function fullReconcile(bench: Bench) {
  let cursor: string | null = null;
  let calls = 0, checked = 0, fixed = 0;
  do {
    const r: { users: unknown[]; checked: number; cursor: string | null; done: boolean } =
      await bench.call("storage", bench.credentials.secretKey, "POST", "/admin/reconcile", {
        ...(cursor ? { cursor } : {}),
        budgetMs: 10_000,
      });
    calls++;
    checked += r.checked;
    fixed += r.users.length;
    cursor = r.done ? null : r.cursor;
    if (calls > 100_000) throw new Error("the paged reconcile did not finish");
  } while (cursor);
  return { calls, checked, fixed };
}

/** Runs `stowage migrate` (dry run: the plan) on `dir`, sampling the child's peak RSS. */
async function migratePlan(bench: Bench, dir: string) {
  const root = new URL("../../", import.meta.url).pathname;
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      `${root}deno.json`,
      `${root}cli/main.ts`,
      "migrate",
      dir,
      "--to",
      BUCKET,
    ],
    env: { STOWAGE_CREDENTIALS: bench.credentialsPath, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let peak = 0;
  const timer = setInterval(async () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(await Deno.readTextFile(`/proc/${child.pid}/status`));
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    } catch { /* it just exited */ }
  }, 50);
  const out = await child.output();
  clearInterval(timer);
  const ms = performance.now() - started;
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`stowage migrate (plan) exited ${out.code}: ${text.slice(-1500)}`);
  }
  return { ms, peakMiB: Math.round(peak) };
}

/** Scenario "scale". */
export const scale: Scenario = {
  name: "scale",
  title: "Scale: each request at a large project against a small one",
  goal: "each request at the large size within 1.5x of its time at the small size; the full " +
    "paged reconcile completes through the API; the migrate plan's peak RSS < 1 GiB",
  async run({ bench, mode, log }) {
    const size = SIZES[mode];
    const service = bench.credentials.secretKey;
    const probe: BenchUser = await bench.createUser("scale-probe", "paid");
    const users = await bench.createUsers(size.users, "scale");
    const contenders: ContenderResult[] = [];
    const ratios: (number | null)[] = [];
    const notes: string[] = [];
    const mappings: string[] = [];
    let seeded = 0;
    let deleteRound = 0;
    const tmp = await Deno.makeTempDir({ prefix: "stowage-bench-scale-" });
    try {
      // The probe's own home, the same at both sizes (triggers on: its counters are right).
      const listed = flatPaths("list", 1000);
      await insertObjects(bench.sql, BUCKET, listed.map((p) => home(probe.id) + p));
      const downloads = listed.slice(0, 100);

      const requests: [
        string,
        (rep: number) => Promise<unknown>,
        ((rep: number) => Promise<void>)?,
      ][] = [
        [
          "one listing page (GET /objects, 100 of 1,000)",
          () =>
            bench.call(
              "storage",
              probe.token,
              "GET",
              `/objects?bucket=${BUCKET}&prefix=list/&limit=100`,
            ),
        ],
        ["GET /quota", () => bench.call("storage", probe.token, "GET", "/quota")],
        ["POST /uploads (one path)", () =>
          bench.call("storage", probe.token, "POST", "/uploads", {
            bucket: BUCKET,
            path: `up/${crypto.randomUUID()}.json`,
            size: 100,
            contentType: "application/json",
          })],
        ["POST /downloads (100 paths)", async () => {
          const r = await bench.call<{ urls: { signedUrl?: string }[] }>(
            "storage",
            probe.token,
            "POST",
            "/downloads",
            { bucket: BUCKET, paths: downloads },
          );
          if (r.urls.filter((u) => u.signedUrl).length !== 100) throw new Error("unsigned paths");
        }],
        [
          "folder delete of 1,000 objects (DELETE /folders until done)",
          async (rep) => {
            const prefix = `del-${deleteRound}-${rep + 1}/`;
            for (let calls = 0;; calls++) {
              const r = await bench.call<{ done: boolean }>(
                "storage",
                probe.token,
                "DELETE",
                "/folders",
                {
                  bucket: BUCKET,
                  prefix,
                },
              );
              if (r.done) break;
              if (calls > 100) throw new Error("DELETE /folders did not finish");
            }
          },
          (rep) =>
            seedFolder(
              bench.sql,
              nestedPaths(1, 10, 100).map((p) =>
                `${home(probe.id)}del-${deleteRound}-${rep + 1}/${p}`
              ),
            ),
        ],
        ["assistant lookup (GET /lookup/:id)", async () => {
          const id = mappings[Math.floor(Math.random() * mappings.length)];
          const res = await fetch(
            `${bench.credentials.url}/functions/v1/assistants/lookup/${encodeURIComponent(id)}`,
            { headers: { "x-webhook-secret": bench.credentials.assistantWebhookSecret } },
          );
          const text = await res.text();
          if (!res.ok) throw new Error(`GET /lookup answered ${res.status}: ${text.slice(0, 200)}`);
        }],
        [
          "per-user reconcile (POST /admin/reconcile {userId})",
          () => bench.call("storage", service, "POST", "/admin/reconcile", { userId: probe.id }),
        ],
      ];

      for (const [i, total] of [size.small, size.large].entries()) {
        const label = total.toLocaleString("en-US");
        log(`seeding object rows up to ${label} (SQL, triggers off) over ${size.users} users`);
        const seedStarted = performance.now();
        for (let from = seeded; from < total; from += 100_000) {
          await seedRows(bench.sql, users, from, Math.min(total, from + 100_000));
          if (total > 100_000) {
            log(`  ${Math.min(total, from + 100_000).toLocaleString("en-US")} rows`);
          }
        }
        seeded = total;
        const want = size.mappings[i];
        const ids = await bench.createUsers(want - mappings.length, "scale-asst");
        const rows = await bench.sql<{ id: string }[]>`
          insert into stowage.assistants (assistant_id, user_id, course_id)
          select 'scale-' || u::text, u, 'course-1' from unnest(${ids}::uuid[]) u
          returning assistant_id as id`;
        mappings.push(...rows.map((r) => r.id));
        await bench.settle();
        log(
          `seeded in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s; ` +
            `${mappings.length} assistant mappings`,
        );

        const RECONCILE = `full paged reconcile through the API @ ${label}`;
        contenders.push(
          await measure(RECONCILE, { ours: true, n: total }, async () => {
            log(RECONCILE);
            const started = performance.now();
            const r = await fullReconcile(bench);
            const ms = performance.now() - started;
            const [{ objects }] = await bench.sql<{ objects: number }[]>`
              select coalesce(sum(objects), 0)::int as objects from stowage.usage
               where user_id = any(${users}::uuid[])`;
            if (objects !== total) {
              throw new Error(`counters after reconcile: ${objects} != ${total}`);
            }
            return contender(RECONCILE, [ms], {
              ours: true,
              n: total,
              calls: r.calls,
              note: `${r.checked} users checked, ${r.fixed} fixed (rows seeded with triggers ` +
                "off); counters exact afterwards",
            });
          }),
        );

        // The reconcile rewrote 1,000 users' counters: flush and vacuum that before timing.
        await bench.settle();
        for (const [name, fn, setup] of requests) {
          const row = `${name} @ ${label}`;
          const base = `${name} @ ${size.small.toLocaleString("en-US")}`;
          const reps = setup ? size.deleteReps : size.reps;
          deleteRound = i;
          const result = await measure(row, {
            ours: true,
            n: total,
            compareTo: i ? base : undefined,
          }, async () => {
            log(row);
            const { samples } = await repeatWithin(reps, size.budgetMs, fn, setup, true);
            return contender(row, samples, {
              ours: true,
              n: total,
              calls: 1,
              perSample: 1,
              ...(i ? { compareTo: base } : {}),
            });
          });
          contenders.push(result);
          if (i) {
            ratios.push(
              ratio(result.median_ms, contenders.find((c) => c.name === base)?.median_ms),
            );
          }
        }
      }

      // stowage migrate's plan of a large local source (1-byte files over the users' homes).
      const MIGRATE = `stowage migrate plan (dry run) of ${
        size.migrate.toLocaleString("en-US")
      } local files`;
      let rss: number | null = null;
      contenders.push(
        await measure(MIGRATE, { ours: true, n: size.migrate }, async () => {
          log(`writing ${size.migrate} files`);
          const perUser = Math.ceil(size.migrate / users.length);
          let written = 0;
          for (const u of users) {
            const dir = join(tmp, "user_data", u, "migrated");
            await Deno.mkdir(dir, { recursive: true });
            for (let f = 0; f < perUser && written < size.migrate; f++, written++) {
              Deno.writeFileSync(join(dir, `f${f}.txt`), new Uint8Array([65]));
            }
          }
          log(MIGRATE);
          const m = await migratePlan(bench, tmp);
          rss = m.peakMiB;
          return contender(MIGRATE, [m.ms], {
            ours: true,
            n: size.migrate,
            calls: 1,
            note: `peak RSS ${m.peakMiB} MiB (goal < 1024)`,
          });
        }),
      );

      const reconciles = contenders.filter((c) => c.name.startsWith("full paged reconcile"));
      const worst = Math.max(...ratios.map((r) => r ?? Infinity));
      notes.push(
        `${size.users} users; object rows spread evenly over them and the three buckets; the ` +
          `probe user's own home (1,000 files, plus the folders it deletes) is the same at both sizes`,
        `assistant mappings: ${size.mappings.join(" then ")}`,
        `ratios large/small: ${ratios.map((r) => r ?? "-").join(", ")} (worst ${worst}x)`,
      );
      return {
        n: size.large,
        contenders,
        goalMet: judge([
          ...ratios.map((r) => r === null ? null : r <= 1.5),
          ...reconciles.map((c) => c.error ? null : true),
          rss === null ? null : rss < 1024,
        ]),
        goalDetail: `worst large/small ratio ${Number.isFinite(worst) ? worst : "-"}x (<= 1.5); ` +
          `full reconcile ${
            reconciles.map((c) =>
              c.median_ms === null ? "failed" : `${(c.median_ms / 1000).toFixed(1)} s`
            ).join(" / ")
          }; ` +
          `migrate plan peak RSS ${rss ?? "-"} MiB (< 1024)`,
        notes,
      };
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      log("removing the seeded rows");
      const started = performance.now();
      await dropRows(bench.sql, users).then(
        () => log(`removed in ${((performance.now() - started) / 1000).toFixed(1)} s`),
        (error) => log(`removing the seeded rows failed: ${(error as Error).message}`),
      );
    }
  },
};
