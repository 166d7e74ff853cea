/**
 * @module `stowage purge`: deletes the files of deleted users through the Storage
 * API, then their counters and rows, round after round until the purge queue
 * (filled by the trigger on auth.users) is empty. The same drain as
 * `POST /admin/purge` (the storage function's domain code), run by an operator
 * with the project's service key and database URL; resumable: a killed run
 * loses nothing, the next one carries on.
 */
import { createDb } from "../../supabase/functions/_shared/db.ts";
import { toAppError } from "../../supabase/functions/_shared/errors.ts";
import {
  drainPurge,
  type PurgeResult,
  queueOrphanedHomes,
} from "../../supabase/functions/storage/domain/purge.ts";
import { createStorageGateway } from "../../supabase/functions/storage/domain/storage-api.ts";
import { resolveConnection } from "../lib/connection.ts";
import { checkUserId, parseStrict, wholeNumber } from "../lib/args.ts";
import { CliError, EXIT } from "../lib/errors.ts";

/** Usage text of `stowage purge`. */
export const PURGE_USAGE = `Usage: stowage purge [options]

Deletes the files of deleted users (queued by the trigger on auth.users) through the Storage
API, then their usage counters, reservations, plan and assistant rows. Runs until the queue is
empty; a killed run loses nothing (run it again). Old events are pruned on the way.

Options:
  --user <id>         only this queued user
  --orphans           first queue the homes of users deleted before Stowage was installed
  --budget-ms <n>     time per round in ms (default 25000)
  --batch-size <n>    keys per Storage-API remove call, 1-1000 (default 1000)
  --db-url <url>      the project's Postgres URL (postgres login; or STOWAGE_DB_URL, else the
                      local stack's dbUrl). SUPABASE_URL and SUPABASE_SECRET_KEY (or the legacy
                      SUPABASE_SERVICE_ROLE_KEY) name the project (else the local stack's credentials).
  --json              print the rounds as JSON lines instead of a summary
`;

/** Parsed options. */
export interface PurgeOptions {
  userId: string | null;
  orphans: boolean;
  budgetMs: number;
  batchSize: number;
  dbUrl: string | undefined;
  json: boolean;
}

/** Parses the arguments. @throws CliError invalid_usage (exit 2) */
export function parsePurgeArgs(args: string[]): PurgeOptions | "help" {
  const parsed = parseStrict(args, {
    user: { type: "string" },
    orphans: { type: "boolean", default: false },
    "budget-ms": { type: "string" },
    "batch-size": { type: "string" },
    "db-url": { type: "string" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  });
  const v = parsed.values;
  if (v.help) return "help";
  checkUserId("user", v.user);
  return {
    userId: v.user ?? null,
    orphans: v.orphans,
    budgetMs: wholeNumber("budget-ms", v["budget-ms"], 25_000, 3_600_000),
    batchSize: wholeNumber("batch-size", v["batch-size"], 1000, 1000),
    dbUrl: v["db-url"],
    json: v.json,
  };
}

/** One line per round. */
export function roundLine(round: number, result: PurgeResult): string {
  const users = result.users.map((u) =>
    `${u.userId}: ${u.deleted} deleted, ${u.remaining} left${u.done ? " (done)" : ""}${
      u.error ? ` [${u.error.code}: ${u.error.message}]` : ""
    }`
  );
  return `round ${round}: ${result.deleted} deleted, ${result.queued} users queued` +
    (users.length ? `\n  ${users.join("\n  ")}` : "");
}

/** Runs `stowage purge`; returns the exit status. */
export async function run(args: string[]): Promise<number> {
  const opts = parsePurgeArgs(args);
  if (opts === "help") {
    console.log(PURGE_USAGE);
    return EXIT.OK;
  }
  const connection = await resolveConnection(Deno.env.toObject(), opts.dbUrl);
  if (!connection.dbUrl) {
    throw new CliError("missing_config", "Give the database: --db-url <postgres url>");
  }
  const db = createDb({ url: connection.dbUrl });
  const storage = createStorageGateway({
    supabaseUrl: connection.url,
    publicSupabaseUrl: connection.url,
    apiKey: connection.secretKey,
    serviceKey: connection.secretKey,
  });
  try {
    if (opts.orphans) {
      const queued = await queueOrphanedHomes(db);
      console.log(
        opts.json ? JSON.stringify({ queuedOrphans: queued }) : `queued ${queued} orphaned users`,
      );
    }
    let total = 0;
    for (let round = 1;; round++) {
      const result = await drainPurge({ db, storage }, connection.secretKey, {
        budgetMs: opts.budgetMs,
        userId: opts.userId,
        batchSize: opts.batchSize,
        pruneLimit: round === 1 ? 100_000 : 0,
      });
      total += result.deleted;
      console.log(opts.json ? JSON.stringify({ round, ...result }) : roundLine(round, result));
      if (result.done) {
        if (!opts.json) console.log(`purge done: ${total} objects deleted`);
        return EXIT.OK;
      }
      const progressed = result.deleted > 0 || result.users.some((u) => u.done);
      if (!progressed) {
        const stuck = result.users.find((u) => u.error || u.failed.length);
        throw new CliError(
          stuck?.error?.code ?? "purge_stalled",
          `Cannot purge: a round deleted nothing (${result.queued} users still queued)` +
            (stuck?.error ? `: ${stuck.error.message}` : ""),
          { exitCode: EXIT.FAILED },
        );
      }
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    const appError = toAppError(error);
    throw new CliError(appError.code, `Cannot purge: ${appError.message}`, {
      exitCode: EXIT.FAILED,
      cause: error,
    });
  } finally {
    await db.end();
  }
}
