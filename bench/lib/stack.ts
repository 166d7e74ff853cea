/**
 * @module The stack a benchmark runs against: its own fresh local stack
 * (spawned like the test runner does, stopped at the end even on failure), or
 * an already running one named by `STOWAGE_CREDENTIALS`. Gives the run its
 * credentials, a superuser SQL connection for seeding, users with real
 * tokens, supabase-js clients and a small JSON client for our functions.
 */
import postgres from "postgres";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { spawnStack } from "../../stack/spawn.ts";
import { readCredentials, type StackCredentials } from "../../stack/credentials.ts";
import { loadKeys, signUserToken, type StackKeys } from "../../stack/keys.ts";

/** A user created for a benchmark, with a token valid for the whole run. */
export interface BenchUser {
  id: string;
  email: string;
  token: string;
}

/** A stack process this run started. */
export interface OwnStack {
  credentialsPath: string;
  /** Stops the stack (SIGTERM, SIGKILL after 30 s) and removes its folder. */
  stop(): Promise<void>;
}

/**
 * Starts a fresh local stack on free ports in a temporary folder (stack/spawn.ts)
 * and waits for its credentials file.
 * @throws {Error} with the stack's output when it exits or does not start within 4 minutes
 */
export async function startOwnStack(): Promise<OwnStack> {
  const dir = await Deno.makeTempDir({ prefix: "stowage-bench-" });
  try {
    const stack = await spawnStack(dir);
    return {
      credentialsPath: stack.credentialsPath,
      stop: async () => {
        await stack.stop();
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      },
    };
  } catch (error) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
}

/** An HTTP error from one of our functions or the Storage API. */
export class HttpError extends Error {
  constructor(readonly status: number, readonly body: string, what: string) {
    super(`${what} answered ${status}: ${body.slice(0, 300)}`);
    this.name = "HttpError";
  }
}

/** Access to the stack under benchmark. */
export class Bench {
  #users: BenchUser[] = [];
  private constructor(
    /** The credentials file, for child processes that need the same stack. */
    readonly credentialsPath: string,
    readonly credentials: StackCredentials,
    readonly keys: StackKeys,
    /** Superuser connection for seeding and cleanup only. */
    readonly sql: postgres.Sql,
    /** The project owner's login (`postgres`, not a superuser), as our functions connect. */
    readonly projectSql: postgres.Sql,
  ) {}

  /** Opens the stack described by a credentials file. */
  static async open(credentialsPath: string): Promise<Bench> {
    const credentials = await readCredentials(credentialsPath);
    const keys = await loadKeys(credentials.keysFile);
    const sql = postgres(credentials.adminDbUrl, { max: 4, onnotice: () => {} });
    const projectSql = postgres(credentials.dbUrl, { max: 4, onnotice: () => {} });
    return new Bench(credentialsPath, credentials, keys, sql, projectSql);
  }

  /** Creates a user in `auth.users` (on `plan` when given) with a three-hour token. */
  async createUser(label: string, plan?: string): Promise<BenchUser> {
    const id = crypto.randomUUID();
    const email = `bench-${label}-${id.slice(0, 8)}@bench.example`;
    await this.sql`insert into auth.users (id, email, aud, role)
                   values (${id}, ${email}, 'authenticated', 'authenticated')`;
    if (plan) await this.sql`select stowage.set_plan(${id}::uuid, ${plan})`;
    const user = { id, email, token: await this.tokenFor(id, email) };
    this.#users.push(user);
    return user;
  }

  /** Creates `count` users in `auth.users` in one statement (no tokens) and returns their ids. */
  async createUsers(count: number, label: string): Promise<string[]> {
    const rows = await this.sql<{ id: string }[]>`
      insert into auth.users (id, email, aud, role)
      select u.id, 'bench-' || ${label} || '-' || left(u.id::text, 13) || '@bench.example',
             'authenticated', 'authenticated'
        from (select gen_random_uuid() as id from generate_series(1, ${count})) u
      returning id::text`;
    for (const { id } of rows) this.#users.push({ id, email: "", token: "" });
    return rows.map((r) => r.id);
  }

  /** Signs a user access token valid for three hours. */
  tokenFor(id: string, email = ""): Promise<string> {
    return signUserToken(this.keys, {
      sub: id,
      email,
      issuerUrl: this.credentials.url,
      expiresIn: 3 * 3600,
    });
  }

  /** A supabase-js client acting as the user with `token`. */
  userClient(token: string): SupabaseClient {
    return createClient(this.credentials.url, this.credentials.publishableKey, {
      auth: { persistSession: false, autoRefreshToken: false },
      global: { headers: { Authorization: `Bearer ${token}` } },
    });
  }

  /** A supabase-js client with the secret key (role service_role at Storage). */
  serviceClient(): SupabaseClient {
    return createClient(this.credentials.url, this.credentials.secretKey, {
      auth: { persistSession: false, autoRefreshToken: false },
    });
  }

  /**
   * Calls one of our functions and returns its JSON body.
   * @param path relative to the function, e.g. `/objects?bucket=...`
   * @throws {HttpError} on any status outside 2xx
   */
  async call<T = unknown>(
    fn: string,
    token: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<T> {
    const res = await fetch(`${this.credentials.url}/functions/v1/${fn}${path}`, {
      method,
      headers: {
        // A secret key goes as `apikey` only (never Bearer); a user's JWT as Bearer beside the
        // publishable key.
        ...(token.startsWith("sb_")
          ? { apikey: token }
          : { Authorization: `Bearer ${token}`, apikey: this.credentials.publishableKey }),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new HttpError(res.status, text, `${method} /${fn}${path.split("?")[0]}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * Leaves the database as a measurement should find it: the rows seeded or removed so far
   * are vacuumed and the tables analyzed now, and a checkpoint written, rather than by
   * autovacuum and the checkpointer in the middle of the measurements that follow.
   */
  async settle(): Promise<void> {
    await this.sql`vacuum analyze auth.users, storage.objects, stowage.reservations,
      stowage.usage, stowage.events, stowage.assistants`;
    await this.sql`checkpoint`;
  }

  /** Removes every user this run created, with their rows everywhere (objects included). */
  async cleanup(): Promise<void> {
    const ids = this.#users.map((u) => u.id);
    this.#users = [];
    if (ids.length === 0) return;
    await this.sql.begin(async (tx) => {
      await tx`set local storage.allow_delete_query = 'true'`;
      await tx`delete from storage.objects where owner_id = any(${ids}::text[])
                or stowage.home_owner(bucket_id, name) = any(${ids}::uuid[])`;
      await tx`delete from stowage.reservations where user_id = any(${ids}::uuid[])`;
      await tx`delete from stowage.usage where user_id = any(${ids}::uuid[])`;
      await tx`delete from auth.users where id = any(${ids}::uuid[])`;
    });
  }

  /** Cleans up and closes the SQL connection. */
  async close(): Promise<void> {
    try {
      await this.cleanup();
    } finally {
      await Promise.all([this.sql.end(), this.projectSql.end()]);
    }
  }
}
