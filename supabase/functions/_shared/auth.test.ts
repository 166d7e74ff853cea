import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { AppError } from "./app-error.ts";
import { constantTimeEqual, createVerifier, requireService, requireUser } from "./auth.ts";
import { toAppError } from "./errors.ts";

const SECRET = "legacy-secret-with-at-least-32-characters!";
const USER_ID = "a11ce000-0000-4000-8000-000000000001";
const PUBLISHABLE = "sb_publishable_abc";
const SECRET_KEY = "sb_secret_abc";
const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
const other = await generateKeyPair("ES256", { extractable: true });
const publicJwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
const SERVICE_ROLE = await hs256({ role: "service_role", iss: "supabase-demo" });
const ANON = await hs256({ role: "anon", iss: "supabase-demo" });
/** A project with the new keys and, still, its legacy ones. */
const config = {
  jwks: { keys: [publicJwk] },
  legacyJwtSecret: null,
  supabaseUrl: "http://127.0.0.1:9",
  publishableKeys: { default: PUBLISHABLE },
  secretKeys: { default: SECRET_KEY, backend2: "sb_secret_second" },
  anonKey: ANON,
  serviceRoleKey: SERVICE_ROLE,
  serviceKey: SECRET_KEY,
};
const verify = createVerifier(config);

function es256(claims: Record<string, unknown>, exp = "1h", key = privateKey) {
  return new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: "k1" }).setIssuedAt()
    .setExpirationTime(exp).sign(key);
}
function hs256(claims: Record<string, unknown>, secret = SECRET) {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setIssuedAt()
    .setExpirationTime("1h").sign(new TextEncoder().encode(secret));
}
function req(headers: Record<string, string>): Request {
  return new Request("http://x/storage/quota", { headers });
}
function bearer(token: string, apikey?: string): Request {
  return req({ authorization: `Bearer ${token}`, ...(apikey ? { apikey } : {}) });
}
/** Asserts the verifier refuses with our 401 `unauthorized`; returns the library's reason. */
async function rejects401(request: Request, v = verify): Promise<string | undefined> {
  let reason: string | undefined;
  await assert.rejects(v(request), (e: unknown) => {
    const appError = toAppError(e);
    reason = (appError.details as { reason?: string } | null)?.reason;
    return appError.status === 401 && appError.code === "unauthorized";
  });
  return reason;
}

Deno.test("a user's ES256 token (with the publishable key, as supabase-js sends it) gives typed claims", async () => {
  const token = await es256({ sub: USER_ID, role: "authenticated", email: "a@x.io" });
  for (const request of [bearer(token, PUBLISHABLE), bearer(token), bearer(token, ANON)]) {
    const caller = await verify(request);
    assert.equal(caller.kind, "user");
    assert.equal(requireUser(caller).claims.sub, USER_ID);
    assert.equal(requireUser(caller).claims.email, "a@x.io");
    assert.equal(caller.token, token);
  }
});

Deno.test("any secret key in apikey is the service; the function then uses its own default key", async () => {
  for (const key of [SECRET_KEY, "sb_secret_second"]) {
    const caller = await verify(req({ apikey: key }));
    assert.equal(caller.kind, "service");
    assert.equal(caller.token, SECRET_KEY);
  }
  assert.equal(
    (await verify(bearer(SECRET_KEY, SECRET_KEY))).kind,
    "service",
    "supabase-js sends it in both headers",
  );
});

Deno.test("the legacy service_role key is the service, in apikey or (as before) as Bearer", async () => {
  assert.equal((await verify(req({ apikey: SERVICE_ROLE }))).kind, "service");
  assert.equal((await verify(bearer(SERVICE_ROLE))).kind, "service");
  assert.equal((await verify(bearer(SERVICE_ROLE, SERVICE_ROLE))).kind, "service");
  const otherProject = await hs256({ role: "service_role", ref: "another-project" });
  await rejects401(bearer(otherProject));
  await rejects401(bearer(`${SERVICE_ROLE}x`));
});

Deno.test("a secret key sent as Bearer is refused 401 UNUSABLE_CREDENTIAL", async () => {
  assert.equal(await rejects401(bearer(SECRET_KEY)), "UNUSABLE_CREDENTIAL");
  await assert.rejects(verify(bearer(SECRET_KEY)), (e: unknown) => {
    return /apikey header/.test(toAppError(e).message);
  });
});

Deno.test("an unknown sb_secret_ is 401 INVALID_API_KEY; the publishable key alone is no user", async () => {
  assert.equal(await rejects401(req({ apikey: "sb_secret_unknown" })), "INVALID_API_KEY");
  await rejects401(req({ apikey: PUBLISHABLE }));
  await rejects401(bearer(PUBLISHABLE, PUBLISHABLE));
  await rejects401(req({ apikey: ANON }));
  await rejects401(bearer(ANON, ANON));
  assert.equal(await rejects401(req({})), "MISSING_CREDENTIALS");
});

Deno.test("with only the new keys the legacy service_role key is refused", async () => {
  const newOnly = createVerifier({ ...config, anonKey: null, serviceRoleKey: null });
  await rejects401(req({ apikey: SERVICE_ROLE }), newOnly);
  await rejects401(bearer(SERVICE_ROLE), newOnly);
  assert.equal((await newOnly(req({ apikey: SECRET_KEY }))).kind, "service");
});

Deno.test("with only the legacy keys the service_role key is the service and the function uses it", async () => {
  const legacyOnly = createVerifier({
    ...config,
    publishableKeys: {},
    secretKeys: {},
    serviceKey: SERVICE_ROLE,
  });
  const caller = await legacyOnly(bearer(SERVICE_ROLE));
  assert.equal(caller.kind, "service");
  assert.equal(caller.token, SERVICE_ROLE);
  await rejects401(req({ apikey: SECRET_KEY }), legacyOnly);
});

Deno.test("missing, malformed, expired, unsigned and wrongly signed tokens are 401", async () => {
  await rejects401(req({ authorization: "" }));
  await rejects401(req({ authorization: "Basic abc" }));
  await rejects401(bearer("not.a.jwt"));
  await rejects401(bearer(await es256({ sub: USER_ID, role: "authenticated" }, "-1m")));
  await assert.rejects(
    verify(bearer(await es256({ sub: USER_ID, role: "authenticated" }, "-1m"))),
    (e: unknown) => /expired/.test(toAppError(e).message),
  );
  await rejects401(
    bearer(await es256({ sub: USER_ID, role: "authenticated" }, "1h", other.privateKey)),
  );
  await rejects401(bearer(await hs256({ sub: USER_ID, role: "authenticated" })));
  const header = btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replace(/=+$/, "");
  const body = btoa(JSON.stringify({ sub: USER_ID, role: "authenticated", exp: 9e9 })).replace(
    /=+$/,
    "",
  );
  await rejects401(bearer(`${header}.${body}.`));
});

Deno.test("role-less, sub-less, exp-less and anon tokens are 401", async () => {
  await rejects401(bearer(await es256({ sub: USER_ID })));
  await rejects401(bearer(await es256({ role: "authenticated" })));
  await rejects401(bearer(await es256({ role: "authenticated", sub: "not-a-uuid" })));
  await rejects401(bearer(await es256({ role: "anon", sub: USER_ID })));
  const noExp = await new SignJWT({ sub: USER_ID, role: "authenticated" })
    .setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(privateKey);
  await rejects401(bearer(noExp));
});

Deno.test("HS256 user tokens without kid verify only with LEGACY_JWT_SECRET", async () => {
  const legacy = createVerifier({ ...config, legacyJwtSecret: SECRET });
  const token = await hs256({ sub: USER_ID, role: "authenticated" });
  assert.equal((await legacy(bearer(token))).kind, "user");
  await rejects401(
    bearer(await hs256({ sub: USER_ID, role: "authenticated" }, "x".repeat(40))),
    legacy,
  );
  await rejects401(bearer(ANON, ANON), legacy);
  await rejects401(bearer(token));
});

Deno.test("a token whose kid is not in the JWKS is 401, even when signed by a known key", async () => {
  const token = await new SignJWT({ sub: USER_ID, role: "authenticated" })
    .setProtectedHeader({ alg: "ES256", kid: "unknown" }).setExpirationTime("1h").sign(privateKey);
  await rejects401(bearer(token));
});

Deno.test("an unreachable JWKS URL is a 503, not a 401", async () => {
  const remote = createVerifier({ ...config, jwks: null });
  const token = await es256({ sub: USER_ID, role: "authenticated" });
  await assert.rejects(
    remote(bearer(token)),
    (e: unknown) => toAppError(e).status === 503 && toAppError(e).code === "misconfigured",
  );
});

Deno.test("requireUser refuses the service (401) and requireService refuses users (403)", async () => {
  const service = await verify(req({ apikey: SECRET_KEY }));
  assert.throws(
    () => requireUser(service),
    (e: unknown) => e instanceof AppError && e.status === 401,
  );
  const user = await verify(bearer(await es256({ sub: USER_ID, role: "authenticated" })));
  assert.throws(
    () => requireService(user),
    (e: unknown) => e instanceof AppError && e.status === 403,
  );
});

Deno.test("constantTimeEqual compares whole strings", () => {
  assert.equal(constantTimeEqual("abc", "abc"), true);
  assert.equal(constantTimeEqual("abc", "abd"), false);
  assert.equal(constantTimeEqual("abc", "abcd"), false);
});

/** A verifier over its own copy of the JWKS, whose keys a test can take away, and a clock. */
function revocable(options: { cacheMs?: number; cacheSize?: number } = {}) {
  const jwks = { keys: [publicJwk] as Record<string, unknown>[] };
  const clock = { now: Date.now() };
  const v = createVerifier({ ...config, jwks }, { ...options, now: () => clock.now });
  return { v, clock, revoke: () => (jwks.keys = []) };
}

Deno.test("a verified user token is remembered: it passes again without its key, until cacheMs", async () => {
  const { v, clock, revoke } = revocable();
  const token = await es256({ sub: USER_ID, role: "authenticated" });
  assert.equal(requireUser(await v(bearer(token, PUBLISHABLE))).claims.sub, USER_ID);
  revoke();
  // Remembered: the key is gone, the same token and apikey still pass.
  assert.equal(requireUser(await v(bearer(token, PUBLISHABLE))).claims.sub, USER_ID);
  // Another apikey beside it is a new question, verified in full (and refused: no key left).
  await rejects401(bearer(token), v);
  // After cacheMs the token is verified in full again.
  clock.now += 60_001;
  await rejects401(bearer(token, PUBLISHABLE), v);
});

Deno.test("a remembered token is never accepted past its exp", async () => {
  const { v, clock, revoke } = revocable({ cacheMs: 3_600_000 });
  const token = await es256({ sub: USER_ID, role: "authenticated" }, "2m");
  const exp = requireUser(await v(bearer(token, PUBLISHABLE))).claims.exp;
  revoke();
  clock.now = exp * 1000 - 1;
  assert.equal((await v(bearer(token, PUBLISHABLE))).kind, "user");
  clock.now = exp * 1000;
  await rejects401(bearer(token, PUBLISHABLE), v);
});

Deno.test("the cache never turns a secret key's request into a user's, and holds cacheSize tokens", async () => {
  const { v, revoke } = revocable({ cacheSize: 1 });
  const first = await es256({ sub: USER_ID, role: "authenticated" });
  const second = await es256({ sub: USER_ID, role: "authenticated", email: "b@x.io" });
  await v(bearer(first, PUBLISHABLE));
  // A backend sending a user's token beside its secret key is the service, cached or not.
  assert.equal((await v(bearer(first, SECRET_KEY))).kind, "service");
  await v(bearer(second, PUBLISHABLE));
  revoke();
  await rejects401(bearer(first, PUBLISHABLE), v); // pushed out by the second
  assert.equal(requireUser(await v(bearer(second, PUBLISHABLE))).claims.email, "b@x.io");
});

Deno.test("a remembered caller is frozen: no request can change what the next one sees", async () => {
  const token = await es256({ sub: USER_ID, role: "authenticated", app_metadata: { plan: "x" } });
  const caller = requireUser(await verify(bearer(token, PUBLISHABLE)));
  assert.throws(() => {
    (caller.claims as { sub: string }).sub = "b0b00000-0000-4000-8000-000000000002";
  }, TypeError);
  assert.throws(() => {
    (caller.claims.app_metadata as Record<string, unknown>).plan = "y";
  }, TypeError);
  assert.equal(requireUser(await verify(bearer(token, PUBLISHABLE))).claims.sub, USER_ID);
  const off = createVerifier(config, { cacheMs: 0 });
  assert.equal(Object.isFrozen(await off(bearer(token, PUBLISHABLE))), false);
});
