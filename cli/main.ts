/**
 * @module Entry point of the `stowage` CLI: `deno task stowage <command> ...`.
 *
 * Commands are registered in {@link COMMANDS}; each lives in its own module exporting
 * `run(args): Promise<number>` (the exit status) and is loaded only when called.
 */
import { CliError, describeError, EXIT, redactSecrets } from "./lib/errors.ts";

/** One CLI command. */
export interface Command {
  /** One line for `stowage --help`. */
  summary: string;
  /** Loads the module that runs it. */
  load: () => Promise<{ run(args: string[]): Promise<number> }>;
}

/** Every command. Add one: one module with `run(args)`, one line here. */
export const COMMANDS: Record<string, Command> = {
  migrate: {
    summary:
      "Copy an S3 bucket or a local directory into a Supabase Storage bucket (dry run by default)",
    load: () => import("./migrate/command.ts"),
  },
  "import-assistants": {
    summary:
      "Load the LMS's assistant mapping and positions into the database (dry run by default)",
    load: () => import("./commands/import-assistants.ts"),
  },
  purge: {
    summary: "Delete the files of deleted users through the Storage API (drains the purge queue)",
    load: () => import("./commands/purge.ts"),
  },
  reconcile: {
    summary: "Recompute every user's usage counters, page by page (resumable with --cursor)",
    load: () => import("./commands/reconcile.ts"),
  },
};

/** `stowage --help`. */
export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) =>
    `  ${name.padEnd(width)}  ${c.summary}`
  );
  return `Usage: stowage <command> [options]   (stowage <command> --help for its options)\n\nCommands:\n${
    lines.join("\n")
  }\n`;
}

/** Runs the CLI with `args`; returns the exit status. Errors are printed with their code. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`stowage: unknown command "${name}"\n\n${usage()}`);
    return EXIT.USAGE;
  }
  try {
    return await (await command.load()).run(rest);
  } catch (error) {
    // Messages may quote a database URL (a malformed --db-url): never print its password.
    if (error instanceof CliError) {
      console.error(redactSecrets(`stowage ${name}: ${error.code}: ${describeError(error)}`));
      return error.exitCode;
    }
    console.error(redactSecrets(`stowage ${name}: unexpected_error: ${describeError(error)}`));
    if (error instanceof Error && error.stack) console.error(redactSecrets(error.stack));
    return EXIT.SETUP;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
