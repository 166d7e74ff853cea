/**
 * @module `stowage import-assistants`: loads the LMS's old assistant files (the reverse
 * mapping `user_data/assistant_reverse_mapping.json` and the per-course
 * `user_data/{email}/{course}/assistant_position.json`) from a bucket or a local folder
 * into `stowage.assistants` and `stowage.assistant_positions`. Idempotent: rows already
 * there are left alone, so a second run changes nothing; what cannot be mapped (unknown
 * users, invalid entries) or conflicts with the database is reported, never guessed.
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { resolveConnection } from "../lib/connection.ts";
import { CliError, EXIT, usageError } from "../lib/errors.ts";
import { bucketLayout, localLayout, MAPPING_KEY } from "./import-assistants-layout.ts";
import { importAssistants, type ImportReport, type TableCounts } from "./import-assistants-load.ts";

/** Usage text of `stowage import-assistants`. */
export const IMPORT_ASSISTANTS_USAGE =
  `Usage: stowage import-assistants (--from <dir> | --bucket <name>) [options]

Loads the LMS's assistant reverse mapping and last positions into the database.
Dry run by default. Reads user_data/assistant_reverse_mapping.json ({assistantId:
{username, course_id}}) and user_data/{email or user id}/{course}/assistant_position.json
({last_position}); maps emails to user ids through auth.users. Rows already in the
database are kept (a second run changes nothing); conflicts and unknown users are reported.

Options:
  --from <dir>         a local copy of the bucket (the folder holding user_data/)
  --bucket <name>      read from this Storage bucket (SUPABASE_URL + SUPABASE_SECRET_KEY,
                       or the legacy SUPABASE_SERVICE_ROLE_KEY; else the local stack's credentials)
  --execute            write the rows (default: dry run)
  --report-out <file>  the JSON report (default import-assistants-<time>.json)
  --db-url <url>       the project's Postgres URL (postgres login; or STOWAGE_DB_URL,
                       else the local stack's dbUrl)
  --json               print the report as JSON instead of a summary

Exit status: 0 every row was mapped (conflicts with rows already there are only
reported), 1 some rows could not be mapped (unknown users, invalid entries: see the
report; the others were loaded, or would be with --execute), 2 bad command line,
3 configuration, source or database problems.
`;

/** Parsed options. */
export interface ImportOptions {
  source: { kind: "local"; path: string } | { kind: "bucket"; bucket: string };
  execute: boolean;
  reportOut: string | null;
  dbUrl: string | undefined;
  json: boolean;
}

/** Parses the arguments. @throws CliError invalid_usage (exit 2) */
export function parseImportArgs(args: string[]): ImportOptions | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      options: {
        from: { type: "string" },
        bucket: { type: "string" },
        execute: { type: "boolean", default: false },
        "report-out": { type: "string" },
        "db-url": { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    throw usageError(error instanceof Error ? error.message : String(error));
  }
  const v = parsed.values;
  if (v.help) return "help";
  if ((v.from === undefined) === (v.bucket === undefined)) {
    throw usageError("Give exactly one source: --from <dir> or --bucket <name>");
  }
  return {
    source: v.from !== undefined
      ? { kind: "local", path: v.from }
      : { kind: "bucket", bucket: v.bucket! },
    execute: v.execute,
    reportOut: v["report-out"] ?? null,
    dbUrl: v["db-url"],
    json: v.json,
  };
}

/** The human summary of a report. */
export function summary(report: ImportReport, reportPath: string): string {
  const verb = report.execute ? "inserted" : "to insert";
  const line = (name: string, t: TableCounts) =>
    `  ${name.padEnd(10)} ${t.found} found, ${t.inserted} ${verb}, ${t.unchanged} unchanged, ` +
    `${t.unmapped} unmapped, ${t.conflicts} conflicts`;
  const reasons = Object.entries(
    Object.groupBy([...report.unmapped, ...report.conflicts], (s) => s.reason),
  ).map(([reason, list]) => `${reason} ${list!.length}`).join(", ");
  return [
    `import-assistants from ${report.source}${report.execute ? "" : " (dry run: nothing written)"}`,
    report.mappingFile === "missing" ? `  no ${MAPPING_KEY}` : null,
    line("assistants", report.assistants),
    line("positions", report.positions),
    reasons ? `  not loaded: ${reasons}` : null,
    `  report: ${reportPath}`,
    report.execute ? null : "  run again with --execute to write the rows",
  ].filter((l) => l !== null).join("\n");
}

/**
 * Writes the JSON report. When it cannot, the report goes to stdout instead and the
 * error says whether rows were written, so a failed write is never read as a failed import.
 * @throws CliError report_unwritable
 */
async function writeReport(path: string, report: ImportReport): Promise<void> {
  const text = JSON.stringify(report, null, 2) + "\n";
  try {
    await Deno.writeTextFile(path, text);
  } catch (error) {
    console.log(text);
    const done = report.execute ? "the rows were written" : "nothing was written (dry run)";
    throw new CliError(
      "report_unwritable",
      `Cannot write the report "${path}" (${(error as Error).message}): ${done}; ` +
        "the report is printed above",
      { cause: error },
    );
  }
}

/**
 * Runs `stowage import-assistants`; returns the exit status: 1 when some rows could not be
 * mapped (the report lists them), else 0.
 */
export async function run(args: string[]): Promise<number> {
  const opts = parseImportArgs(args);
  if (opts === "help") {
    console.log(IMPORT_ASSISTANTS_USAGE);
    return EXIT.OK;
  }
  const env = Deno.env.toObject();
  const directDb = opts.dbUrl ?? env.STOWAGE_DB_URL;
  const connection = opts.source.kind === "bucket" || !directDb
    ? await resolveConnection(env, opts.dbUrl)
    : null;
  const dbUrl = directDb ?? connection?.dbUrl;
  if (!dbUrl) throw new CliError("missing_config", "Give the database: --db-url <postgres url>");
  const sql = postgres(dbUrl, { max: 4, onnotice: () => {}, connect_timeout: 10 });
  try {
    const layout = opts.source.kind === "local"
      ? await localLayout(opts.source.path)
      : await bucketLayout(connection!.url, connection!.secretKey, sql, opts.source.bucket);
    const report = await importAssistants(layout, sql, opts.execute);
    const reportPath = opts.reportOut ??
      `import-assistants-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
    await writeReport(reportPath, report);
    console.log(opts.json ? JSON.stringify(report, null, 2) : summary(report, reportPath));
    // A row that could not be mapped (unknown user, invalid entry) is lost unless someone
    // acts: scripts must see it. Conflicts are rows the database already holds differently
    // (positions that moved on since): reported, but the import did what it could.
    return report.unmapped.length > 0 ? EXIT.FAILED : EXIT.OK;
  } catch (error) {
    if (error instanceof CliError) throw error;
    if (
      (error as { name?: string }).name === "PostgresError" || (error as { code?: string }).code
    ) {
      throw new CliError("database_error", `Cannot import: ${(error as Error).message}`, {
        cause: error,
      });
    }
    throw error;
  } finally {
    await sql.end({ timeout: 5 });
  }
}
