/**
 * @module The stack's auth server through supabase-js itself: sign-up (confirmed
 * at once), password sign-in, refresh with rotation and reuse detection,
 * getUser, sign-out, the events onAuthStateChange reports, GoTrue's error codes,
 * and the rows GoTrue would write (bcrypt hashes, sessions, refresh tokens).
 */
import assert from "node:assert/strict";
import { type AuthChangeEvent, createClient, type SupabaseClient } from "@supabase/supabase-js";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { adminSql, stack } from "../support/stack.ts";

async function authClient(): Promise<{ supabase: SupabaseClient; events: AuthChangeEvent[] }> {
  const s = await stack();
  const supabase = createClient(s.url, s.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
  const events: AuthChangeEvent[] = [];
  supabase.auth.onAuthStateChange((event) => {
    events.push(event);
  });
  return { supabase, events };
}

function newEmail(): string {
  return `auth-${crypto.randomUUID().slice(0, 8)}@test.example`;
}

/** Lets supabase-js deliver its queued auth events. */
function settle(): Promise<void> {
  return new Promise((r) => setTimeout(r, 50));
}

Deno.test("auth.signUp confirms at once, signs in, and stores the user as GoTrue does", async () => {
  const s = await stack();
  const { supabase, events } = await authClient();
  const email = newEmail();
  const { data, error } = await supabase.auth.signUp({
    email,
    password: "correct horse",
    options: { data: { name: "Ada" } },
  });
  assert.equal(error, null);
  assert.ok(data.session, "a session, as supabase start gives without email confirmation");
  assert.equal(data.user?.email, email);
  assert.ok(data.user?.email_confirmed_at, "confirmed at once");
  assert.equal(data.user?.user_metadata.name, "Ada");
  assert.deepEqual(data.user?.app_metadata, { provider: "email", providers: ["email"] });
  assert.equal(data.user?.identities?.[0].provider, "email");
  await settle();
  assert.ok(events.includes("SIGNED_IN"), `SIGNED_IN fired (${events})`);

  // The access token: ES256 with the stack's kid, GoTrue's claims, one hour.
  const token = data.session.access_token;
  const header = decodeProtectedHeader(token);
  assert.equal(header.alg, "ES256");
  const jwks = createRemoteJWKSet(new URL(`${s.url}/auth/v1/.well-known/jwks.json`));
  const { payload } = await jwtVerify(token, jwks, {
    issuer: `${s.url}/auth/v1`,
    audience: "authenticated",
  });
  assert.equal(payload.sub, data.user?.id);
  assert.equal(payload.exp! - payload.iat!, 3600);
  assert.equal(data.session.expires_in, 3600);
  for (
    const claim of [
      "email",
      "phone",
      "app_metadata",
      "user_metadata",
      "role",
      "aal",
      "amr",
      "session_id",
      "is_anonymous",
    ]
  ) {
    assert.ok(claim in payload, `claim ${claim}`);
  }
  assert.equal(payload.role, "authenticated");
  assert.equal(payload.aal, "aal1");
  assert.equal((payload.amr as { method: string }[])[0].method, "password");
  assert.equal(payload.is_anonymous, false);

  const sql = await adminSql();
  try {
    const [user] = await sql`select encrypted_password, instance_id::text from auth.users
                              where email = ${email}`;
    assert.match(user.encrypted_password, /^\$2[ab]\$10\$.{53}$/, "bcrypt, cost 10");
    assert.equal(user.instance_id, "00000000-0000-0000-0000-000000000000");
    const sessions = await sql`select id::text from auth.sessions where user_id = ${data.user!.id}`;
    assert.deepEqual(sessions.map((r) => r.id), [payload.session_id]);
    const [rt] = await sql`select token, revoked, session_id::text from auth.refresh_tokens
                            where token = ${data.session.refresh_token}`;
    assert.equal(rt.revoked, false);
    assert.equal(rt.session_id, payload.session_id);
  } finally {
    await sql.end();
  }

  // The token opens the project's functions like a hosted one.
  const quota = await fetch(`${s.url}/functions/v1/storage/quota`, {
    headers: { authorization: `Bearer ${token}`, apikey: s.anonKey },
  });
  assert.equal(quota.status, 200, await quota.clone().text());
  await quota.body?.cancel();
});

Deno.test("auth.signUp refuses a registered email, a weak password and a bad address with GoTrue's codes", async () => {
  const { supabase } = await authClient();
  const email = newEmail();
  assert.equal((await supabase.auth.signUp({ email, password: "secret-1" })).error, null);

  const again = await supabase.auth.signUp({ email: email.toUpperCase(), password: "secret-2" });
  assert.equal(again.error?.status, 422);
  assert.equal(again.error?.code, "user_already_exists");
  assert.equal(again.error?.message, "User already registered");

  const weak = await supabase.auth.signUp({ email: newEmail(), password: "123" });
  assert.equal(weak.error?.status, 422);
  assert.equal(weak.error?.code, "weak_password");
  assert.equal(weak.error?.message, "Password should be at least 6 characters.");
  assert.deepEqual((weak.error as { reasons?: string[] }).reasons, ["length"]);

  const bad = await supabase.auth.signUp({ email: "not-an-email", password: "secret-3" });
  assert.equal(bad.error?.status, 400);
  assert.equal(bad.error?.code, "validation_failed");
  assert.equal(bad.error?.message, "Unable to validate email address: invalid format");
});

Deno.test("signInWithPassword: a dev user's documented password works; a wrong one or an unknown user is invalid_credentials", async () => {
  const s = await stack();
  const alice = s.users.find((u) => u.email === "alice@example.com")!;
  assert.ok(alice.password, "credentials.json gives each dev user a password");
  const { supabase, events } = await authClient();
  const ok = await supabase.auth.signInWithPassword({
    email: alice.email,
    password: alice.password,
  });
  assert.equal(ok.error, null);
  assert.equal(ok.data.user?.id, alice.id);
  await settle();
  assert.ok(events.includes("SIGNED_IN"));

  for (
    const attempt of [
      { email: alice.email, password: "wrong password" },
      { email: "nobody@test.example", password: alice.password },
    ]
  ) {
    const { supabase: other } = await authClient();
    const res = await other.auth.signInWithPassword(attempt);
    assert.equal(res.error?.status, 400);
    assert.equal(res.error?.code, "invalid_credentials");
    assert.equal(res.error?.message, "Invalid login credentials");
    assert.equal(res.data.session, null);
  }

  // The raw answer, without supabase-js's API version header: GoTrue's older shape.
  const raw = await fetch(`${s.url}/auth/v1/token?grant_type=password`, {
    method: "POST",
    headers: { apikey: s.anonKey, "content-type": "application/json" },
    body: JSON.stringify({ email: alice.email, password: "nope" }),
  });
  assert.equal(raw.status, 400);
  assert.equal(raw.headers.get("x-sb-error-code"), "invalid_credentials");
  assert.deepEqual(await raw.json(), {
    code: 400,
    error_code: "invalid_credentials",
    msg: "Invalid login credentials",
  });
});

Deno.test("refreshSession rotates the refresh token; a reused one past the reuse interval is refused and revokes the session", async () => {
  const { supabase, events } = await authClient();
  const email = newEmail();
  const first = await supabase.auth.signUp({ email, password: "rotate-me" });
  assert.equal(first.error, null);
  const t1 = first.data.session!.refresh_token;

  const second = await supabase.auth.refreshSession();
  assert.equal(second.error, null);
  const t2 = second.data.session!.refresh_token;
  assert.notEqual(t2, t1, "a new refresh token");
  await settle();
  assert.ok(events.includes("TOKEN_REFRESHED"), `TOKEN_REFRESHED fired (${events})`);

  // The client lost the answer: the revoked parent of the live token gives the live token back.
  const { supabase: retry } = await authClient();
  const lost = await retry.auth.refreshSession({ refresh_token: t1 });
  assert.equal(lost.error, null);
  assert.equal(lost.data.session!.refresh_token, t2);

  const third = await supabase.auth.refreshSession();
  const t3 = third.data.session!.refresh_token;
  assert.notEqual(t3, t2);

  // t1 is now two generations old; once its reuse interval (10 s) has passed it is refused.
  const sql = await adminSql();
  try {
    await sql`update auth.refresh_tokens set updated_at = now() - interval '1 minute'
               where token in (${t1}, ${t2})`;
    const { supabase: thief } = await authClient();
    const reused = await thief.auth.refreshSession({ refresh_token: t1 });
    assert.equal(reused.error?.status, 400);
    assert.equal(reused.error?.code, "refresh_token_already_used");
    assert.equal(reused.error?.message, "Invalid Refresh Token: Already Used");
    const live = await sql`select token from auth.refresh_tokens
                            where token = ${t3} and revoked = false`;
    assert.equal(live.length, 0, "rotation revoked the whole session's tokens");
  } finally {
    await sql.end();
  }

  const { supabase: stranger } = await authClient();
  const unknown = await stranger.auth.refreshSession({ refresh_token: "abcdefghijkl" });
  assert.equal(unknown.error?.code, "refresh_token_not_found");
  assert.equal(unknown.error?.message, "Invalid Refresh Token: Refresh Token Not Found");
});

Deno.test("getUser answers for a live session; after signOut the token's session is gone", async () => {
  const { supabase, events } = await authClient();
  const email = newEmail();
  const { data } = await supabase.auth.signUp({ email, password: "sign-me-out" });
  const token = data.session!.access_token;
  const me = await supabase.auth.getUser();
  assert.equal(me.error, null);
  assert.equal(me.data.user?.email, email);
  assert.equal(me.data.user?.id, data.user!.id);

  const out = await supabase.auth.signOut();
  assert.equal(out.error, null);
  await settle();
  assert.ok(events.includes("SIGNED_OUT"), `SIGNED_OUT fired (${events})`);
  assert.equal((await supabase.auth.getSession()).data.session, null);

  const { supabase: other } = await authClient();
  const after = await other.auth.getUser(token);
  // supabase-js turns GoTrue's 403 session_not_found into this error of its own.
  assert.equal(after.error?.name, "AuthSessionMissingError");
  const s = await stack();
  const raw = await fetch(`${s.url}/auth/v1/user`, {
    headers: {
      apikey: s.anonKey,
      authorization: `Bearer ${token}`,
      "x-supabase-api-version": "2024-01-01",
    },
  });
  assert.equal(raw.status, 403);
  assert.equal(raw.headers.get("x-supabase-api-version"), "2024-01-01");
  assert.deepEqual(await raw.json(), {
    code: "session_not_found",
    message: "Session from session_id claim in JWT does not exist",
  });
  const sql = await adminSql();
  try {
    const rows = await sql`select 1 from auth.sessions where user_id = ${data.user!.id}`;
    assert.equal(rows.length, 0, "logout (global scope) deletes the user's sessions");
  } finally {
    await sql.end();
  }

  const anonymous = await fetch(`${s.url}/auth/v1/user`, { headers: { apikey: s.anonKey } });
  assert.equal(anonymous.status, 401);
  assert.equal((await anonymous.json()).error_code, "no_authorization");
});
