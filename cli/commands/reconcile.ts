/**
 * @module `stowage reconcile`: recomputes every user's usage counters from
 * storage.objects and drops expired upload reservations, page after page in
 * user-id order (`stowage.reconcile_page`, the same walk as
 * `POST /admin/reconcile`), with progress on stderr. Each user costs one
 * indexed read of their homes, so a project of millions of objects reconciles
 * in bounded steps; a killed run resumes with `--cursor` (the last progress
 * line prints it), and a run from the start is always safe too.
 */
import { createDb } from "../../supabase/functions/_shared/db.ts";
import { toAppError } from "../../supabase/functions/_shared/errors.ts";
import { reconcile } from "../../supabase/functions/storage/domain/quota.ts";
import {
  reconcilePages,
  type ReconcilePagesResult,
} from "../../supabase/functions/storage/domain/reconcile.ts";
import { resolveConnection } from "../lib/connection.ts";
import { checkUserId, parseStrict, wholeNumber } from "../lib/args.ts";
import { CliError, EXIT, usageError } from "../lib/errors.ts";

/** Usage text of `stowage reconcile`. */
export const RECONCILE_USAGE = `Usage: stowage reconcile [options]

Recomputes the usage counters (bytes, objects) of every user from storage.objects, fixes the
ones that drifted and drops expired upload reservations. Walks users in id order, one round of
pages at a time, with progress on stderr; resumable: pass the last cursor it printed.

Options:
  --user <id>         only this user (always reported)
  --cursor <id>       resume the walk after this user id (printed by every round)
  --budget-ms <n>     time per round in ms (default 5000)
  --limit <n>         users checked per round at most (default: as many as the budget allows)
  --max-rounds <n>    stop after n rounds even if not done (resume later with --cursor)
  --db-url <url>      the project's Postgres URL (postgres login; or STOWAGE_DB_URL, else the
                      local stack's dbUrl)
  --json              print the rounds as JSON lines instead of a summary
`;

/** Parsed options. */
export interface ReconcileOptions {
  userId: string | null;
  cursor: string | null;
  budgetMs: number;
  maxRounds: number | null;
  limit: number | null;
  dbUrl: string | undefined;
  json: boolean;
}

/** Parses the arguments. @throws CliError invalid_usage (exit 2) */
export function parseReconcileArgs(args: string[]): ReconcileOptions | "help" {
  const parsed = parseStrict(args, {
    user: { type: "string" },
    cursor: { type: "string" },
    "budget-ms": { type: "string" },
    "max-rounds": { type: "string" },
    limit: { type: "string" },
    "db-url": { type: "string" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  });
  const v = parsed.values;
  if (v.help) return "help";
  checkUserId("user", v.user);
  checkUserId("cursor", v.cursor);
  if (v.user !== undefined && v.cursor !== undefined) {
    throw usageError("Give either --user or --cursor, not both");
  }
  return {
    userId: v.user ?? null,
    cursor: v.cursor ?? null,
    budgetMs: wholeNumber("budget-ms", v["budget-ms"], 5000, 3_600_000),
    maxRounds: wholeNumber("max-rounds", v["max-rounds"], null, 1_000_000),
    limit: wholeNumber("limit", v.limit, null, 1_000_000),
    dbUrl: v["db-url"],
    json: v.json,
  };
}

/** The progress line of one round (stderr). */
export function progressLine(
  round: number,
  checked: number,
  fixed: number,
  r: ReconcilePagesResult,
) {
  return `reconcile: round ${round}: ${checked} users checked, ${fixed} fixed` +
    (r.done ? " (done)" : `; next cursor ${r.cursor}`);
}

/** Runs `stowage reconcile`; returns the exit status. */
export async function run(args: string[]): Promise<number> {
  const opts = parseReconcileArgs(args);
  if (opts === "help") {
    console.log(RECONCILE_USAGE);
    return EXIT.OK;
  }
  const connection = await resolveConnection(Deno.env.toObject(), opts.dbUrl);
  if (!connection.dbUrl) {
    throw new CliError("missing_config", "Give the database: --db-url <postgres url>");
  }
  const db = createDb({ url: connection.dbUrl, max: 1 });
  try {
    if (opts.userId) {
      const users = await db.withService((tx) => reconcile(tx, opts.userId));
      const result = { users, checked: 1, cursor: null, done: true };
      console.log(opts.json ? JSON.stringify({ round: 1, ...result }) : summary(users, 1));
      return EXIT.OK;
    }
    let cursor = opts.cursor;
    let checked = 0;
    const fixed: ReconcilePagesResult["users"] = [];
    for (let round = 1;; round++) {
      const result = await reconcilePages(db, {
        cursor,
        budgetMs: opts.budgetMs,
        maxUsers: opts.limit,
      });
      checked += result.checked;
      fixed.push(...result.users);
      cursor = result.cursor;
      console.error(progressLine(round, checked, fixed.length, result));
      if (opts.json) console.log(JSON.stringify({ round, ...result }));
      if (result.done) {
        if (!opts.json) console.log(summary(fixed, checked));
        return EXIT.OK;
      }
      if (opts.maxRounds !== null && round >= opts.maxRounds) {
        if (!opts.json) {
          console.log(
            `${
              summary(fixed, checked)
            }\nstopped after ${round} rounds: resume with --cursor ${cursor}`,
          );
        }
        return EXIT.OK;
      }
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    const appError = toAppError(error);
    throw new CliError(appError.code, `Cannot reconcile: ${appError.message}`, {
      exitCode: EXIT.FAILED,
      cause: error,
    });
  } finally {
    await db.end();
  }
}

function summary(fixed: ReconcilePagesResult["users"], checked: number): string {
  const lines = fixed.map((u) =>
    `  ${u.userId}: bytes ${u.bytesBefore} -> ${u.bytesAfter}, objects ${u.objectsBefore} -> ` +
    `${u.objectsAfter}, ${u.droppedReservations} expired reservations dropped`
  );
  return [...lines, `reconcile: ${checked} users checked, ${fixed.length} fixed`].join("\n");
}
