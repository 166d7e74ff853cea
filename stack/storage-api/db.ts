/**
 * @module Database access of the Storage-API double: every query in a transaction
 * whose first statement sets the request scope (FACTS §4.1) with transaction-local
 * `set_config`, so RLS policies and triggers see what they see on hosted Supabase.
 */
import postgres from "postgres";

/** A transaction handle. */
export type Tx = postgres.TransactionSql;

/** What one transaction runs as. */
export interface Scope {
  /** `anon`, `authenticated`, `service_role`, ... */
  role: string;
  /** The raw JWT. */
  jwt: string;
  /** The JWT payload. */
  claims: Record<string, unknown>;
  /** `sub` or `''`. */
  sub: string;
  /** All request headers. */
  headers: Record<string, string>;
  method: string;
  path: string;
  /** e.g. `storage.object.upload`. */
  operation: string;
}

/** Thrown inside a transaction to roll it back on purpose. */
class Rollback extends Error {
  constructor(readonly value: unknown) {
    super("rollback");
  }
}

/** The connection pool and the scoped-transaction helpers. */
export class Db {
  readonly sql: postgres.Sql;

  /** @param databaseUrl the `supabase_storage_admin` login */
  constructor(databaseUrl: string) {
    this.sql = postgres(databaseUrl, {
      max: 8,
      onnotice: () => {},
      connection: { application_name: "stowage-storage-api" },
    });
  }

  /** Sets the scope of the current transaction (all settings transaction-local). */
  static async setScope(tx: Tx, s: Scope): Promise<void> {
    await tx`
      select set_config('role', ${s.role}, true),
             set_config('request.jwt.claim.role', ${s.role}, true),
             set_config('request.jwt', ${s.jwt}, true),
             set_config('request.jwt.claim.sub', ${s.sub}, true),
             set_config('request.jwt.claims', ${JSON.stringify(s.claims)}, true),
             set_config('request.headers', ${JSON.stringify(s.headers)}, true),
             set_config('request.method', ${s.method}, true),
             set_config('request.path', ${s.path}, true),
             set_config('storage.operation', ${s.operation}, true),
             set_config('storage.allow_delete_query', 'true', true)`;
  }

  /** Runs `fn` in one committed transaction under `scope`. */
  async run<T>(scope: Scope, fn: (tx: Tx) => Promise<T>): Promise<T> {
    return await this.sql.begin(async (tx) => {
      await Db.setScope(tx, scope);
      return await fn(tx);
    }) as T;
  }

  /** Runs `fn` under `scope` in a transaction that is always rolled back; returns its value. */
  async dryRun<T>(scope: Scope, fn: (tx: Tx) => Promise<T>): Promise<T> {
    try {
      await this.sql.begin(async (tx) => {
        await Db.setScope(tx, scope);
        throw new Rollback(await fn(tx));
      });
    } catch (e) {
      if (e instanceof Rollback) return e.value as T;
      throw e;
    }
    throw new Error("dryRun: transaction committed");
  }

  /**
   * Runs `fn` as another scope inside a transaction, in a savepoint, then restores
   * `back` (the server's `SAVEPOINT storage_pg_query_<uuid>` pattern).
   */
  static async within<T>(tx: Tx, as: Scope, back: Scope, fn: (tx: Tx) => Promise<T>): Promise<T> {
    const value = await tx.savepoint(async (sp) => {
      await Db.setScope(sp, as);
      return await fn(sp);
    }) as T;
    await Db.setScope(tx, back);
    return value;
  }

  /** Closes the pool. */
  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}
