/**
 * @module The auth server's SQL, on GoTrue's tables (`auth.users`,
 * `auth.identities`, `auth.sessions`, `auth.refresh_tokens`,
 * `auth.mfa_amr_claims`), connected as `supabase_auth_admin` like GoTrue.
 */
import type postgres from "postgres";

/** GoTrue's nil instance id: every user it serves has it. */
export const NIL_INSTANCE = "00000000-0000-0000-0000-000000000000";

/** A connection or a transaction. */
export type Sql = postgres.Sql | postgres.TransactionSql;

/** An `auth.users` row with the columns the server reads. */
export interface UserRow {
  id: string;
  aud: string | null;
  role: string | null;
  email: string | null;
  encrypted_password: string | null;
  email_confirmed_at: Date | null;
  invited_at: Date | null;
  phone: string | null;
  phone_confirmed_at: Date | null;
  confirmation_sent_at: Date | null;
  confirmed_at: Date | null;
  recovery_sent_at: Date | null;
  email_change: string | null;
  email_change_sent_at: Date | null;
  phone_change: string | null;
  phone_change_sent_at: Date | null;
  reauthentication_sent_at: Date | null;
  last_sign_in_at: Date | null;
  raw_app_meta_data: Record<string, unknown> | null;
  raw_user_meta_data: Record<string, unknown> | null;
  created_at: Date | null;
  updated_at: Date | null;
  banned_until: Date | null;
  deleted_at: Date | null;
  is_anonymous: boolean;
}

/** An `auth.identities` row. */
export interface IdentityRow {
  id: string;
  provider_id: string;
  user_id: string;
  identity_data: Record<string, unknown>;
  provider: string;
  last_sign_in_at: Date | null;
  created_at: Date | null;
  updated_at: Date | null;
  email: string | null;
}

/** An `auth.refresh_tokens` row. */
export interface RefreshTokenRow {
  id: string;
  token: string;
  user_id: string;
  revoked: boolean;
  parent: string | null;
  session_id: string | null;
  updated_at: Date;
}

/** An `auth.sessions` row with what the server reads. */
export interface SessionRow {
  id: string;
  user_id: string;
  not_after: Date | null;
}

/** Finds a password user by email, as GoTrue does (nil instance, audience, not SSO). */
export async function findUserByEmail(
  sql: Sql,
  email: string,
  aud: string,
): Promise<UserRow | undefined> {
  const rows = await sql<UserRow[]>`
    select * from auth.users
     where instance_id = ${NIL_INSTANCE} and lower(email) = ${email.toLowerCase()}
       and aud = ${aud} and is_sso_user = false
     limit 1`;
  return rows[0];
}

/** Finds a user by id (nil instance). */
export async function findUserById(sql: Sql, id: string): Promise<UserRow | undefined> {
  const rows = await sql<UserRow[]>`
    select * from auth.users where instance_id = ${NIL_INSTANCE} and id = ${id}`;
  return rows[0];
}

/** The user's identities, oldest first. */
export async function identitiesOf(sql: Sql, userId: string): Promise<IdentityRow[]> {
  return await sql<IdentityRow[]>`
    select * from auth.identities where user_id = ${userId} order by created_at, id`;
}

/**
 * Inserts an email user and their email identity (`provider_id` = the user's id).
 * @returns the user as stored (generated columns included)
 */
export async function insertEmailUser(
  sql: Sql,
  user: {
    email: string;
    passwordHash: string;
    aud: string;
    role: string;
    userMetadata: Record<string, unknown>;
    confirmed: boolean;
  },
): Promise<UserRow> {
  const id = crypto.randomUUID();
  const appMetadata = { provider: "email", providers: ["email"] };
  const [row] = await sql<UserRow[]>`
    insert into auth.users (instance_id, id, aud, role, email, encrypted_password,
      email_confirmed_at, confirmation_sent_at, raw_app_meta_data, raw_user_meta_data,
      created_at, updated_at, is_sso_user, is_anonymous)
    values (${NIL_INSTANCE}, ${id}, ${user.aud}, ${user.role}, ${user.email}, ${user.passwordHash},
      ${user.confirmed ? sql`now()` : null}, ${user.confirmed ? null : sql`now()`},
      ${sql.json(appMetadata)}, ${sql.json(user.userMetadata as postgres.JSONValue)},
      now(), now(), false, false)
    returning *`;
  const identityData = {
    ...user.userMetadata,
    sub: id,
    email: user.email,
    email_verified: false,
    phone_verified: false,
  };
  await sql`
    insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at,
      created_at, updated_at)
    values (${id}, ${id}, ${
    sql.json(identityData as postgres.JSONValue)
  }, 'email', now(), now(), now())`;
  return row;
}

/** GoTrue's legacy refresh token: 12 characters of lower-case base32. */
export function newRefreshToken(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return [...bytes].map((b) => alphabet[b % 32]).join("");
}

/**
 * Opens a session for a user: the session row, its first refresh token, the
 * `password` AMR claim, and the user's `last_sign_in_at`.
 */
export async function openSession(
  sql: Sql,
  userId: string,
  client: { userAgent: string | null; ip: string | null },
  method = "password",
): Promise<{ sessionId: string; refreshToken: string }> {
  const sessionId = crypto.randomUUID();
  const refreshToken = newRefreshToken();
  await sql`
    insert into auth.sessions (id, user_id, created_at, updated_at, aal, user_agent, ip)
    values (${sessionId}, ${userId}, now(), now(), 'aal1', ${client.userAgent}, ${client.ip})`;
  await sql`
    insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at,
      parent, session_id)
    values (${NIL_INSTANCE}, ${refreshToken}, ${userId}, false, now(), now(), '', ${sessionId})`;
  await sql`
    insert into auth.mfa_amr_claims (id, session_id, created_at, updated_at, authentication_method)
    values (${crypto.randomUUID()}, ${sessionId}, now(), now(), ${method})
    on conflict on constraint mfa_amr_claims_session_id_authentication_method_pkey
    do update set updated_at = now()`;
  await sql`update auth.users set last_sign_in_at = now(), updated_at = now() where id = ${userId}`;
  return { sessionId, refreshToken };
}

/** The session's AMR claims, newest first, as the access token carries them. */
export async function amrOf(
  sql: Sql,
  sessionId: string,
): Promise<{ method: string; timestamp: number }[]> {
  const rows = await sql<{ method: string; ts: string }[]>`
    select authentication_method as method, floor(extract(epoch from updated_at))::bigint::text as ts
      from auth.mfa_amr_claims where session_id = ${sessionId}
     order by updated_at desc`;
  return rows.map((r) => ({ method: r.method, timestamp: Number(r.ts) }));
}

/** Finds a refresh token row (revoked ones too), locking it when `forUpdate`. */
export async function findRefreshToken(
  sql: Sql,
  token: string,
  forUpdate: boolean,
): Promise<RefreshTokenRow | undefined> {
  const rows = forUpdate
    ? await sql<RefreshTokenRow[]>`
        select id::text, token, user_id, revoked, parent, session_id::text, updated_at
          from auth.refresh_tokens where token = ${token} for update`
    : await sql<RefreshTokenRow[]>`
        select id::text, token, user_id, revoked, parent, session_id::text, updated_at
          from auth.refresh_tokens where token = ${token}`;
  return rows[0];
}

/** Finds a session, locking it when `forUpdate`. */
export async function findSession(
  sql: Sql,
  id: string,
  forUpdate = false,
): Promise<SessionRow | undefined> {
  const rows = forUpdate
    ? await sql<SessionRow[]>`select id::text, user_id::text, not_after from auth.sessions
                               where id = ${id} for update`
    : await sql<SessionRow[]>`select id::text, user_id::text, not_after from auth.sessions
                               where id = ${id}`;
  return rows[0];
}

/** The session's newest token that is not revoked. */
export async function activeRefreshToken(
  sql: Sql,
  sessionId: string,
): Promise<RefreshTokenRow | undefined> {
  const rows = await sql<RefreshTokenRow[]>`
    select id::text, token, user_id, revoked, parent, session_id::text, updated_at
      from auth.refresh_tokens where session_id = ${sessionId} and revoked is false
     order by id desc limit 1`;
  return rows[0];
}

/** Revokes `old` and issues its child in the same session (GoTrue's swap). */
export async function swapRefreshToken(sql: Sql, old: RefreshTokenRow): Promise<string> {
  await sql`update auth.refresh_tokens set revoked = true, updated_at = now() where id = ${old.id}`;
  const token = newRefreshToken();
  await sql`
    insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at,
      parent, session_id)
    values (${NIL_INSTANCE}, ${token}, ${old.user_id}, false, now(), now(), ${old.token},
      ${old.session_id})`;
  await sql`update auth.users set last_sign_in_at = now(), updated_at = now() where id = ${old.user_id}`;
  return token;
}

/** Revokes every live token of a session (a reuse was detected). */
export async function revokeSessionTokens(sql: Sql, sessionId: string): Promise<void> {
  await sql`update auth.refresh_tokens set revoked = true, updated_at = now()
             where session_id = ${sessionId} and revoked = false`;
}

/** Records a refresh on the session (`refreshed_at`, user agent, address). */
export async function touchSession(
  sql: Sql,
  sessionId: string,
  client: { userAgent: string | null; ip: string | null },
): Promise<void> {
  await sql`update auth.sessions set refreshed_at = now() at time zone 'utc', updated_at = now(),
              user_agent = ${client.userAgent}, ip = ${client.ip} where id = ${sessionId}`;
}

/** Deletes sessions (with their refresh tokens and claims, by cascade) for a logout scope. */
export async function deleteSessions(
  sql: Sql,
  scope: "global" | "local" | "others",
  userId: string,
  sessionId: string | null,
): Promise<void> {
  if (scope === "local" && sessionId) {
    await sql`delete from auth.sessions where id = ${sessionId}`;
  } else if (scope === "others" && sessionId) {
    await sql`delete from auth.sessions where id <> ${sessionId} and user_id = ${userId}`;
  } else {
    await sql`delete from auth.sessions where user_id = ${userId}`;
  }
}
