/**
 * @module `stowage migrate`: list the source, plan against the target project, print
 * the plan, and with `--execute` copy, verify, journal and report.
 */
import { EXIT } from "../lib/errors.ts";
import { resolveConnection } from "../lib/connection.ts";
import { CliError } from "../lib/errors.ts";
import { MIGRATE_USAGE, type MigrateOptions, parseMigrateArgs } from "./options.ts";
import { LocalSource } from "./source-local.ts";
import { S3Source } from "./source-s3.ts";
import type { Source } from "./source.ts";
import { MigrationDb } from "./database.ts";
import { emailSegment, mapTargets, type SourceObject } from "./planner.ts";
import { decide, journalKey, needsChecksum } from "./decide.ts";
import { Journal, readJournal } from "./journal.ts";
import { mapPool } from "./pool.ts";
import { execute, sourceMd5 } from "./executor.ts";
import { StorageApi } from "./storage-api.ts";
import { Progress } from "./progress.ts";
import { planFile, planSummary, reportSummary, runReport } from "./report.ts";
import { sha256Hex } from "./key-rules.ts";
import { formatBytes } from "./format.ts";

/** Runs `stowage migrate <args>`; returns the exit status. */
export async function run(args: string[]): Promise<number> {
  const opts = parseMigrateArgs(args);
  if (opts === "help") {
    console.log(MIGRATE_USAGE);
    return EXIT.OK;
  }
  const conn = await resolveConnection(Deno.env.toObject(), opts.dbUrl);
  if (!conn.dbUrl) {
    throw new CliError(
      "missing_config",
      "Give the project's database: --db-url <postgres URL> (or STOWAGE_DB_URL); the plan reads buckets, users and quotas there",
    );
  }
  const source = await openSource(opts);
  const db = new MigrationDb(conn.dbUrl);
  try {
    await db.check();
    return await migrate(opts, source, db, conn.url, conn.secretKey);
  } finally {
    source.close();
    await db.close();
  }
}

async function openSource(opts: MigrateOptions): Promise<Source> {
  if (opts.source.kind === "s3") return new S3Source(opts.source.location, opts.s3);
  const local = new LocalSource(opts.source.path);
  await local.check();
  return local;
}

async function defaultPlanPath(opts: MigrateOptions, source: Source): Promise<string> {
  const id = (await sha256Hex(
    `${source.description}|${opts.bucket}/${opts.targetPrefix}|${opts.shard?.index}/${opts.shard?.count}`,
  )).slice(0, 8);
  return `stowage-${opts.bucket}-${id}.plan.json`;
}

async function migrate(
  opts: MigrateOptions,
  source: Source,
  db: MigrationDb,
  url: string,
  serviceKey: string,
): Promise<number> {
  const startedAt = new Date().toISOString();
  const log = (line: string) => console.error(line);
  const bucket = await db.bucket(opts.bucket);
  const homeTemplate = await db.homeTemplate(opts.bucket);
  if (opts.mapUsers && !homeTemplate) {
    throw new CliError(
      "invalid_usage",
      `Cannot --map-users into "${opts.bucket}": it has no home template in stowage.bucket_homes`,
      { exitCode: EXIT.USAGE },
    );
  }

  log(`Listing ${source.description} ...`);
  const objects: SourceObject[] = [];
  for await (const o of source.list({ contentTypes: (bucket.allowedMimeTypes ?? []).length > 0 })) {
    objects.push(o);
  }
  log(`Listed ${objects.length} object(s).`);

  const emails = new Set<string>();
  if (opts.mapUsers && homeTemplate) {
    for (const o of objects) {
      const e = emailSegment(opts.targetPrefix + o.key, homeTemplate);
      if (e) emails.add(e);
    }
  }
  const mapped = await mapTargets(objects, {
    bucket,
    targetPrefix: opts.targetPrefix,
    homeTemplate,
    mapUsers: opts.mapUsers,
    emails: await db.usersByEmail([...emails]),
  });

  const planPath = opts.planOut ?? (opts.execute ? await defaultPlanPath(opts, source) : null);
  const journalPath = planPath ? `${planPath}.journal` : null;
  const earlier = journalPath
    ? new JournalCache(await readJournal(journalPath))
    : new JournalCache([]);

  const existing = await db.existing(opts.bucket, opts.targetPrefix);
  const checksums = new Map<string, string>();
  const toHash = needsChecksum(mapped, existing, opts.shard);
  if (toHash.length > 0) {
    log(`Checksumming ${toHash.length} source object(s) that may already be in the bucket ...`);
  }
  await mapPool(toHash, opts.concurrency, async (item) => {
    checksums.set(
      item.source,
      earlier.checksum(item.source, item.stamp, item.size) ?? await sourceMd5(item, source),
    );
  });
  const targets = mapped.filter((i) => i.action === "copy" || i.action === "rename").map((i) =>
    i.target
  );
  const owners = await db.owners(opts.bucket, targets);
  const userIds = [...new Set([...owners.values()].filter((v): v is string => v !== null))];
  const decision = decide(mapped, {
    existing,
    checksums,
    owners,
    quotas: await db.quotas(userIds),
    verified: earlier.verified,
    overwrite: opts.overwrite,
    ignoreQuota: opts.ignoreQuota,
    shard: opts.shard,
  });
  const shardText = opts.shard ? `${opts.shard.index + 1}/${opts.shard.count}` : null;
  const plan = planFile(decision.items, decision.users, {
    source: source.description,
    url,
    bucket: opts.bucket,
    prefix: opts.targetPrefix,
    homeTemplate,
    shard: shardText,
  });
  if (planPath) await Deno.writeTextFile(planPath, JSON.stringify(plan, null, 2) + "\n");

  if (!opts.execute) {
    console.log(
      opts.json
        ? JSON.stringify(plan, null, 2)
        : planSummary(plan, true) + (planPath ? `\n\nPlan: ${planPath}` : ""),
    );
    return EXIT.OK;
  }
  if (!opts.json) console.log(planSummary(plan, false));

  const work = plan.items.filter((i) => i.action === "copy" || i.action === "rename");
  const above = opts.resumableAbove;
  const viaTus = above === null ? 0 : work.filter((i) => i.size > above).length;
  if (viaTus > 0) {
    log(
      `${viaTus} file(s) above ${formatBytes(above!)} go resumably (TUS, 6 MiB chunks; ` +
        `an interrupted one continues on a retry or a re-run); ${
          work.length - viaTus
        } in one streamed request each.`,
    );
  }
  const progress = new Progress(work.length, work.reduce((n, i) => n + i.size, 0));
  const journal = await Journal.open(journalPath!);
  let result;
  try {
    result = await execute(plan.items, {
      bucket: opts.bucket,
      concurrency: opts.concurrency,
      retries: opts.retries,
      verify: opts.verify,
      deleteAfter: opts.deleteAfter,
      resumableAbove: opts.resumableAbove,
    }, {
      source,
      api: new StorageApi(url, serviceKey, { tusState: `${planPath}.tus.json` }),
      stored: (b, n) => db.object(b, n),
      journal,
      progress,
    });
  } finally {
    progress.finish();
    await journal.close();
  }
  const report = runReport(plan, result, startedAt);
  const reportPath = opts.reportOut ?? `${planPath}.report.json`;
  await Deno.writeTextFile(reportPath, JSON.stringify(report, null, 2) + "\n");
  console.log(opts.json ? JSON.stringify(report, null, 2) : reportSummary(report, reportPath));
  return report.counts.failed > 0 ? EXIT.FAILED : EXIT.OK;
}

/** Checksums recorded by earlier runs, by source version. */
class JournalCache {
  readonly #md5 = new Map<string, string>();
  /** Copies journaled as verified ({@link journalKey}). */
  readonly verified = new Set<string>();
  constructor(entries: Awaited<ReturnType<typeof readJournal>>) {
    for (const e of entries) {
      if (e.op !== "copied") continue;
      this.#md5.set(`${e.source}\n${e.stamp}\n${e.size}`, e.md5);
      this.verified.add(journalKey(e));
    }
  }
  checksum(source: string, stamp: string, size: number): string | undefined {
    return this.#md5.get(`${source}\n${stamp}\n${size}`);
  }
}
