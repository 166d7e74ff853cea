/**
 * @module The client takes the access token from a signed-in supabase-js client, against the
 * stack's auth server: the session's token before each call, the new one once supabase-js has
 * refreshed (by itself when the session expires, or when asked), and a call refused with 401
 * (a token the server finds expired while the session says it is not: a skewed clock) is
 * retried once after one `refreshSession()`, shared by calls refused together.
 *
 * The functions' requests are watched through the client's `fetch` option, which passes each
 * one on to the real fetch and records the token sent and the status answered.
 */
import assert from "node:assert/strict";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { createStowage, type Stowage, StowageError } from "./mod.ts";
import { blob, LMS } from "./testing.ts";
import { stack, tokenFor } from "../../tests/support/stack.ts";
import { DEV_PASSWORD } from "../../stack/credentials.ts";

const STORAGE_KEY = "sb-stowage-test-auth-token";

interface Seen {
  method: string;
  path: string;
  token: string | null;
  status: number;
}

interface Signed {
  supabase: SupabaseClient;
  /** supabase-js's storage, where the session lives (JSON under STORAGE_KEY). */
  store: Map<string, string>;
  stowage: Stowage;
  /** The functions' requests, in order. */
  calls: Seen[];
  /** supabase-js's refresh-token grants, counted. */
  refreshes: () => number;
}

/** A supabase-js client with its session in a Map, and a Stowage client built on it. */
async function client(): Promise<Signed> {
  const s = await stack();
  const store = new Map<string, string>();
  let refreshes = 0;
  const supabase = createClient(s.url, s.anonKey, {
    auth: {
      persistSession: true,
      autoRefreshToken: false,
      detectSessionInUrl: false,
      storageKey: STORAGE_KEY,
      storage: {
        getItem: (k) => store.get(k) ?? null,
        setItem: (k, v) => void store.set(k, v),
        removeItem: (k) => void store.delete(k),
      },
    },
    global: {
      fetch: (input, init) => {
        if (String(input instanceof Request ? input.url : input).includes("grant_type=refresh")) {
          refreshes++;
        }
        return fetch(input, init);
      },
    },
  });
  const calls: Seen[] = [];
  const stowage = createStowage({
    url: s.url,
    supabase,
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      const url = new URL(String(input));
      if (!url.pathname.startsWith("/functions/v1/")) return res; // the PUT to Storage
      const auth = new Headers(init?.headers).get("authorization");
      calls.push({
        method: init?.method ?? "GET",
        path: url.pathname.replace(/^\/functions\/v1/, ""),
        token: auth?.replace(/^Bearer /, "") ?? null,
        status: res.status,
      });
      return res;
    },
  });
  return { supabase, store, stowage, calls, refreshes: () => refreshes };
}

/** A new account, signed up (and so signed in) through supabase-js. */
async function signedUp(): Promise<Signed & { sub: string }> {
  const c = await client();
  const { data, error } = await c.supabase.auth.signUp({
    email: `client-auth-${crypto.randomUUID().slice(0, 8)}@test.example`,
    password: `pw-${crypto.randomUUID()}`,
  });
  assert.equal(error, null);
  assert.ok(data.session);
  return { ...c, sub: data.session.user.id };
}

async function accessToken(supabase: SupabaseClient): Promise<string | undefined> {
  return (await supabase.auth.getSession()).data.session?.access_token;
}

/** Changes the session supabase-js has stored. */
function editSession(store: Map<string, string>, change: Record<string, unknown>): void {
  const session = JSON.parse(store.get(STORAGE_KEY)!);
  store.set(STORAGE_KEY, JSON.stringify({ ...session, ...change }));
}

async function refusal(promise: Promise<unknown>): Promise<StowageError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof StowageError, `expected a StowageError, got ${error}`);
    return error;
  }
  assert.fail("expected the call to fail");
}

Deno.test("the token comes from a supabase-js client signed in with a password; signed out, calls are 401 and not retried", async () => {
  const { supabase, stowage, calls, refreshes } = await client();
  const out = await refusal(stowage.quota());
  assert.equal(out.code, "unauthorized");
  assert.equal(out.status, 401);
  assert.deepEqual(calls.map((c) => [c.token, c.status]), [[null, 401]]);
  assert.equal(refreshes(), 0, "no session, nothing to refresh");

  const { error } = await supabase.auth.signInWithPassword({
    email: "alice@example.com",
    password: DEV_PASSWORD,
  });
  assert.equal(error, null);
  const quota = await stowage.quota();
  assert.equal(typeof quota.quotaBytes, "number");
  assert.equal(calls.at(-1)?.status, 200);
  assert.equal(calls.at(-1)?.token, await accessToken(supabase));
});

Deno.test("after supabase-js refreshes the session, the client sends the new token", async () => {
  const { supabase, store, stowage, calls, sub } = await signedUp();
  // A token of its own (the server's, minted in the same second, could be byte-identical to
  // the refreshed one: ES256 here signs deterministically).
  const before = await tokenFor(sub);
  editSession(store, { access_token: before });
  await stowage.upload(blob(10), { bucket: LMS, path: "auth/one.bin" });
  assert.ok(calls.every((c) => c.token === before), "the session's token on every call");

  const { data, error } = await supabase.auth.refreshSession();
  assert.equal(error, null);
  const after = data.session!.access_token;
  assert.notEqual(after, before);
  const page = await stowage.list({ bucket: LMS, prefix: "auth/" });
  assert.deepEqual(page.items.map((i) => i.name), ["one.bin"]);
  assert.equal(calls.at(-1)?.token, after);
});

Deno.test("an expired session is refreshed by supabase-js before the call: no 401, the new token is sent", async () => {
  const { supabase, store, stowage, calls, refreshes, sub } = await signedUp();
  const expired = await tokenFor(sub, { expiresIn: -60 });
  editSession(store, {
    access_token: expired,
    expires_at: Math.floor(Date.now() / 1000) - 60,
  });
  const quota = await stowage.quota();
  assert.equal(quota.usedBytes, 0);
  assert.equal(refreshes(), 1);
  assert.deepEqual(calls.map((c) => c.status), [200]);
  assert.notEqual(calls[0].token, expired);
  assert.equal(calls[0].token, await accessToken(supabase));
});

Deno.test("a 401 makes the client refresh the session once and retry the call once with the new token", async () => {
  const { supabase, store, stowage, calls, refreshes, sub } = await signedUp();
  // The session says its token is good for an hour; the server finds it expired (a skewed clock).
  const expired = await tokenFor(sub, { expiresIn: -60 });
  editSession(store, { access_token: expired });
  const result = await stowage.upload(blob(100), { bucket: LMS, path: "auth/retried.bin" });
  assert.equal(result.size, 100);
  const fresh = await accessToken(supabase);
  assert.notEqual(fresh, expired);
  assert.deepEqual(calls.map((c) => [c.method, c.path, c.token === expired, c.status]), [
    ["POST", "/storage/uploads", true, 401],
    ["POST", "/storage/uploads", false, 201],
  ]);
  assert.equal(calls[1].token, fresh);
  assert.equal(refreshes(), 1);
  assert.equal((await stowage.quota()).usedBytes, 100, "the retried reservation landed once");
});

Deno.test("calls refused together with 401 share one refresh", async () => {
  const { store, stowage, calls, refreshes, sub } = await signedUp();
  editSession(store, { access_token: await tokenFor(sub, { expiresIn: -60 }) });
  const quotas = await Promise.all([stowage.quota(), stowage.quota(), stowage.quota()]);
  assert.deepEqual(quotas.map((q) => q.usedBytes), [0, 0, 0]);
  assert.equal(refreshes(), 1);
  assert.deepEqual(calls.map((c) => c.status).sort(), [200, 200, 200, 401, 401, 401]);
});

Deno.test("when the refresh fails too, the 401 is thrown and the call is not repeated", async () => {
  const { store, stowage, calls, refreshes, sub } = await signedUp();
  editSession(store, {
    access_token: await tokenFor(sub, { expiresIn: -60 }),
    refresh_token: "not-a-refresh-token",
  });
  const e = await refusal(stowage.quota());
  assert.equal(e.code, "unauthorized");
  assert.equal(e.status, 401);
  assert.equal(refreshes(), 1);
  assert.deepEqual(calls.map((c) => c.status), [401]);
});

Deno.test("createStowage without supabase or getToken is a TypeError", () => {
  const s = { url: "http://127.0.0.1:1" };
  assert.throws(() => createStowage(s as Parameters<typeof createStowage>[0]), TypeError);
});
