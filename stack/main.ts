/**
 * @module Entry point of the Docker-less local stack (`npm start`, `deno task
 * stack`): PostgreSQL with the Supabase baseline, migrations by the real
 * `supabase db push`, the Storage-API double, the functions, and one gateway.
 * Runs in the foreground; SIGINT or SIGTERM stops everything it started (each
 * child by PID, then any descendant left), and so does the exit of the process
 * that started it. A watchdog process stops the children if this one dies
 * without cleaning up (SIGKILL).
 *
 * Environment: STOWAGE_PORT (54321), STOWAGE_DB_PORT (54322),
 * STOWAGE_INTERNAL_PORT (STOWAGE_PORT + 10, see ports.ts),
 * STOWAGE_STACK_DIR (.stack), STOWAGE_QUIET=1 (no banner), STOWAGE_LEGACY_KEYS=off
 * (a project whose legacy anon/service_role keys are disabled: the gateway and
 * Storage refuse them and the functions get no legacy variable).
 */
import { join, resolve } from "node:path";
import postgres from "postgres";
import {
  findPostgresBin,
  initCluster,
  type PostgresServer,
  removeCluster,
  startServer,
} from "./postgres.ts";
import { applyBaseline, databaseUrls, pushMigrations } from "./database.ts";
import {
  loadOrCreateKeys,
  LOCAL_PUBLISHABLE_KEY,
  LOCAL_SECRET_KEY,
  signApiKey,
  signRoleToken,
} from "./keys.ts";
import { FunctionsHost } from "./functions.ts";
import { createGateway } from "./gateway.ts";
import { createStorageApi } from "./storage-api/mod.ts";
import { type AuthApi, createAuthApi } from "./auth-api/mod.ts";
import { loadAuthConfig } from "./auth-api/config.ts";
import { DEV_PASSWORD, type StackCredentials, type StackUser } from "./credentials.ts";
import { assertPortsFree, portInUseMessage, type StackPorts, stackPorts } from "./ports.ts";
import { descendants, stopProcesses } from "./process-tree.ts";

const projectDir = resolve(new URL("..", import.meta.url).pathname);
const stackDir = resolve(projectDir, Deno.env.get("STOWAGE_STACK_DIR") ?? ".stack");
const quiet = Deno.env.get("STOWAGE_QUIET") === "1";
const legacyKeysEnabled = legacyKeysSetting(Deno.env.get("STOWAGE_LEGACY_KEYS"));

/** `STOWAGE_LEGACY_KEYS`: on (default) or off. */
function legacyKeysSetting(value: string | undefined): boolean {
  const v = (value ?? "on").trim().toLowerCase();
  if (["on", "1", "true", ""].includes(v)) return true;
  if (["off", "0", "false"].includes(v)) return false;
  throw new Error(`STOWAGE_LEGACY_KEYS must be "on" or "off", not "${value}"`);
}
const DEV_USERS = ["alice@example.com", "bob@example.com", "carol@example.com"];

const cleanups: (() => Promise<void>)[] = [];
let stopping: Promise<void> | undefined;

function log(message: string): void {
  if (!quiet) console.log(message);
}

let watchdogPid: number | undefined;

/**
 * Stops everything started so far, newest first, then any descendant still
 * running (a `supabase db push` or `initdb` cut short), SIGKILL after 5 s.
 */
function shutdown(): Promise<void> {
  stopping ??= (async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        console.error(`stack: while stopping: ${(error as Error).message}`);
      }
    }
    await stopProcesses(descendants(Deno.pid).filter((p) => p.pid !== watchdogPid), 5000);
    await Deno.remove(join(stackDir, "credentials.json")).catch(() => {});
  })();
  return stopping;
}

function stopAndExit(reason: string): void {
  log(`\nstack: ${reason}, stopping...`);
  shutdown().then(() => Deno.exit(0));
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  Deno.addSignalListener(signal, () => stopAndExit(signal));
}
// Whoever started the stack (npm, a test runner) is gone: nobody can stop it any more.
const parentPid = Deno.ppid;
setInterval(() => {
  if (Deno.ppid !== parentPid) stopAndExit(`its parent process ${parentPid} exited`);
}, 1000);

/** Starts the watchdog that stops this stack's processes if this one dies uncleanly. */
function startWatchdog(): void {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-check",
      "-A", // Deno asks for all permissions to read /proc/<pid>
      join(projectDir, "stack/watchdog.ts"),
      String(Deno.pid),
    ],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  child.unref();
  watchdogPid = child.pid;
}

/** Serves `handler` on 127.0.0.1:`port`; a port taken meanwhile is reported with its variable. */
function serve(
  ports: StackPorts,
  port: number,
  handler: Deno.ServeHandler,
  onError: (error: unknown) => Response,
): Deno.HttpServer {
  try {
    return Deno.serve({ hostname: "127.0.0.1", port, onListen() {}, onError }, handler);
  } catch (error) {
    const use = ports.all.find((u) => u.port === port);
    if (error instanceof Deno.errors.AddrInUse && use) throw new Error(portInUseMessage(use));
    throw error;
  }
}

async function devUsers(adminUrl: string, auth: AuthApi): Promise<StackUser[]> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const hasPlans = (await sql`select to_regclass('stowage.user_plans') is not null as ok`)[0].ok;
    const rows = hasPlans
      ? await sql`select u.id::text, u.email, coalesce(p.plan_id, 'free') as plan
                    from auth.users u left join stowage.user_plans p on p.user_id = u.id
                   where u.email = any(${DEV_USERS}) order by u.email`
      : await sql`select id::text, email, 'free' as plan from auth.users where email = any(${DEV_USERS}) order by email`;
    const users: StackUser[] = [];
    for (const row of rows) {
      // A real session, as signInWithPassword would give: the token passes GET /auth/v1/user.
      const session = await auth.signInAs(row.email);
      users.push({
        email: row.email,
        id: row.id,
        plan: row.plan,
        password: DEV_PASSWORD,
        accessToken: session.access_token,
      });
    }
    return users;
  } finally {
    await sql.end();
  }
}

/** Role tokens for the gateway, minted once per role and renewed before they expire. */
function roleTokens(
  keys: Awaited<ReturnType<typeof loadOrCreateKeys>>,
  url: string,
): (role: "anon" | "service_role") => Promise<string> {
  const cache = new Map<string, { token: Promise<string>; until: number }>();
  return (role) => {
    const hit = cache.get(role);
    if (hit && hit.until > Date.now()) return hit.token;
    const token = signRoleToken(keys, role, url);
    cache.set(role, { token, until: Date.now() + 30 * 60_000 });
    return token;
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const functionsDir = join(projectDir, "supabase/functions");
  const functionNames = await FunctionsHost.discover(functionsDir);
  const ports = stackPorts(Deno.env.toObject(), functionNames);
  const port = ports.api;
  const dbPort = ports.db;
  const internalPort = ports.internal;
  assertPortsFree(ports.all);
  startWatchdog();
  await Deno.mkdir(stackDir, { recursive: true });
  await Deno.remove(join(stackDir, "credentials.json")).catch(() => {});
  const keys = await loadOrCreateKeys(join(stackDir, "keys.json"));
  const url = `http://127.0.0.1:${port}`;

  log("stack: starting PostgreSQL");
  // As root the server runs as the OS user postgres, which must reach the
  // fallback's binaries: a checkout inside /root or a mktemp folder is not enough.
  const bin = await findPostgresBin(
    Deno.uid() === 0 ? "/var/tmp/stowage-tools" : join(stackDir, "tools"),
  );
  const dataDir = await initCluster(bin, join(stackDir, "pg"));
  const pg: PostgresServer = await startServer(
    bin,
    dataDir,
    dbPort,
    join(stackDir, "postgres.log"),
  );
  cleanups.push(async () => {
    await pg.stop();
    await removeCluster(join(stackDir, "pg"));
  });

  const db = databaseUrls(dbPort);
  log("stack: applying the Supabase baseline");
  await applyBaseline(db.admin, join(projectDir, "stack/baseline"));
  log("stack: supabase db push");
  await pushMigrations(projectDir, db.postgres);

  const storageDir = join(stackDir, "storage");
  await Deno.remove(storageDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(storageDir, { recursive: true });
  const storage = createStorageApi({
    databaseUrl: db.storage,
    dataDir: storageDir,
    legacyJwtSecret: keys.legacyJwtSecret,
    jwks: keys.jwks as { keys: JsonWebKey[] },
    legacyKeys: legacyKeysEnabled,
  });
  cleanups.push(() => storage.close());

  const auth = createAuthApi({
    databaseUrl: `postgresql://supabase_auth_admin:postgres@127.0.0.1:${dbPort}/postgres`,
    signingKey: keys.signingKey,
    jwks: keys.jwks,
    legacyJwtSecret: keys.legacyJwtSecret,
    issuer: `${url}/auth/v1`,
    config: await loadAuthConfig(join(projectDir, "supabase/config.toml")),
  });
  cleanups.push(() => auth.close());

  const anonKey = await signApiKey(keys, "anon");
  const serviceRoleKey = await signApiKey(keys, "service_role");
  const webhookSecret = Deno.env.get("ASSISTANT_WEBHOOK_SECRET") ??
    `whsec-local-${crypto.randomUUID()}`;
  // What the Edge Runtime gives a function on a project: the URL, the database, the
  // new API keys as JSON dictionaries of named keys, the JWKS, and the legacy keys
  // only while the project has them. Plus our own variables.
  const functionEnv: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    NO_COLOR: "1",
    SUPABASE_URL: `http://127.0.0.1:${internalPort}`,
    SUPABASE_DB_URL: db.postgres,
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: LOCAL_PUBLISHABLE_KEY }),
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: LOCAL_SECRET_KEY }),
    SUPABASE_JWKS: JSON.stringify(keys.jwks),
    ...(legacyKeysEnabled
      ? { SUPABASE_ANON_KEY: anonKey, SUPABASE_SERVICE_ROLE_KEY: serviceRoleKey }
      : {}),
    PUBLIC_SUPABASE_URL: url,
    ASSISTANT_WEBHOOK_SECRET: webhookSecret,
  };
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir) functionEnv.DENO_DIR = denoDir;
  for (const [k, v] of Object.entries(Deno.env.toObject())) {
    // Pass-through for tuning our own variables (never SUPABASE_*).
    if (/^(FOLDER_DELETE_BUDGET_MS|RESERVATION_GRACE_SECONDS)$/.test(k)) {
      functionEnv[k] = v;
    }
  }
  const functions = new FunctionsHost(
    functionsDir,
    functionEnv,
    join(stackDir, "functions.log"),
    functionNames,
    (name) => ports.functions[name],
  );
  cleanups.push(() => functions.stop());

  const gateway = createGateway({
    functions,
    storage: storage.handler,
    jwks: keys.jwks,
    examplesDir: join(projectDir, "examples/web/dist"),
    auth: auth.handler,
    keys: {
      publishable: LOCAL_PUBLISHABLE_KEY,
      secret: LOCAL_SECRET_KEY,
      legacy: { anon: anonKey, serviceRole: serviceRoleKey },
      legacyEnabled: legacyKeysEnabled,
      roleToken: roleTokens(keys, url),
    },
  });
  // The example page reads the stack's public URL and publishable key here (both are public).
  const pageConfig = JSON.stringify({ url, publishableKey: LOCAL_PUBLISHABLE_KEY });
  const handler = (req: Request): Promise<Response> =>
    new URL(req.url).pathname === "/examples/web/stack.json"
      ? Promise.resolve(
        new Response(pageConfig, {
          headers: { "content-type": "application/json", "cache-control": "no-cache" },
        }),
      )
      : gateway(req);
  const onError = (error: unknown) => {
    console.error(`gateway: ${(error as Error).stack ?? error}`);
    return new Response(
      JSON.stringify({ message: "An invalid response was received from the upstream server" }),
      {
        status: 502,
        headers: { "content-type": "application/json" },
      },
    );
  };
  for (const p of [port, internalPort]) {
    const server = serve(ports, p, handler, onError);
    cleanups.push(() => server.shutdown());
  }
  log("stack: starting functions");
  await functions.startAll();

  const credentials: StackCredentials = {
    url,
    publishableKey: LOCAL_PUBLISHABLE_KEY,
    secretKey: LOCAL_SECRET_KEY,
    anonKey,
    serviceRoleKey,
    legacyKeysEnabled,
    legacyJwtSecret: keys.legacyJwtSecret,
    dbUrl: db.postgres,
    adminDbUrl: db.admin,
    storageDbUrl: db.storage,
    assistantWebhookSecret: webhookSecret,
    keysFile: join(stackDir, "keys.json"),
    stackDir,
    users: await devUsers(db.admin, auth),
  };
  const tmp = join(stackDir, "credentials.json.tmp");
  await Deno.writeTextFile(tmp, JSON.stringify(credentials, null, 2), { mode: 0o600 });
  await Deno.rename(tmp, join(stackDir, "credentials.json"));

  log([
    "",
    `Stowage local stack is up (${((Date.now() - started) / 1000).toFixed(1)} s). Ctrl-C stops it.`,
    "",
    `  Publishable key  ${LOCAL_PUBLISHABLE_KEY}   (browsers and apps)`,
    `  Secret key       ${LOCAL_SECRET_KEY}   (backends only)`,
    "",
    `  API URL          ${url}`,
    `  Functions        ${url}/functions/v1/{${functions.names.join(",")}}`,
    `  Storage API      ${url}/storage/v1`,
    `  Auth             ${url}/auth/v1 (email + password; JWKS at /.well-known/jwks.json)`,
    `  Example page     ${url}/examples/web/`,
    `  DB URL           ${db.postgres}`,
    ...(legacyKeysEnabled
      ? [
        `  anon key         ${anonKey}   (legacy, still accepted)`,
        `  service_role key ${serviceRoleKey}   (legacy, still accepted)`,
      ]
      : ["  legacy keys      disabled (STOWAGE_LEGACY_KEYS=off): anon and service_role refused"]),
    "",
    ...credentials.users.map((u) =>
      `  ${u.email.padEnd(18)} password ${u.password}  ${
        u.plan.padEnd(5)
      } ${u.id}\n    token ${u.accessToken}`
    ),
    "",
    `  Ports: STOWAGE_PORT=${port} STOWAGE_DB_PORT=${dbPort} STOWAGE_INTERNAL_PORT=${internalPort} (+1 per function)`,
    `  Everything above is in ${join(stackDir, "credentials.json")}; logs in ${stackDir}/*.log`,
    "",
  ].join("\n"));
}

try {
  await main();
} catch (error) {
  console.error(`stack: failed to start: ${(error as Error).message}`);
  await shutdown();
  Deno.exit(1);
}
