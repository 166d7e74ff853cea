import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { AppError } from "./app-error.ts";
import { constantTimeEqual, createVerifier, requireService, requireUser } from "./auth.ts";

const SECRET = "legacy-secret-with-at-least-32-characters!";
const USER_ID = "a11ce000-0000-4000-8000-000000000001";
const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
const other = await generateKeyPair("ES256", { extractable: true });
const publicJwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
const config = {
  jwks: { keys: [publicJwk] },
  legacyJwtSecret: SECRET,
  supabaseUrl: "http://127.0.0.1:9",
  serviceRoleKey: "sb_secret_abc",
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
async function rejects401(header: string | undefined) {
  await assert.rejects(verify(header), (e: unknown) => e instanceof AppError && e.status === 401);
}

Deno.test("a user's ES256 token verified through the JWKS gives typed claims", async () => {
  const token = await es256({ sub: USER_ID, role: "authenticated", email: "a@x.io" });
  const caller = await verify(`Bearer ${token}`);
  assert.equal(caller.kind, "user");
  assert.equal(requireUser(caller).claims.sub, USER_ID);
  assert.equal(requireUser(caller).claims.email, "a@x.io");
});

Deno.test("legacy HS256 tokens verify with LEGACY_JWT_SECRET; service_role is the service", async () => {
  const user = await verify(`bearer ${await hs256({ sub: USER_ID, role: "authenticated" })}`);
  assert.equal(user.kind, "user");
  const service = await verify(`Bearer ${await hs256({ role: "service_role" })}`);
  assert.equal(service.kind, "service");
  assert.equal(requireService(service).kind, "service");
  assert.equal((await verify("Bearer sb_secret_abc")).kind, "service");
});

Deno.test("missing, malformed, expired, unsigned and wrongly signed tokens are 401", async () => {
  await rejects401(undefined);
  await rejects401("");
  await rejects401("Basic abc");
  await rejects401("Bearer not.a.jwt");
  await rejects401(`Bearer ${await es256({ sub: USER_ID, role: "authenticated" }, "-1m")}`);
  await rejects401(
    `Bearer ${await es256({ sub: USER_ID, role: "authenticated" }, "1h", other.privateKey)}`,
  );
  await rejects401(
    `Bearer ${await hs256({ sub: USER_ID, role: "authenticated" }, "x".repeat(40))}`,
  );
  const header = btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replace(/=+$/, "");
  const body = btoa(JSON.stringify({ sub: USER_ID, role: "authenticated", exp: 9e9 })).replace(
    /=+$/,
    "",
  );
  await rejects401(`Bearer ${header}.${body}.`);
});

Deno.test("anon keys, publishable keys, role-less and sub-less tokens are 401", async () => {
  await rejects401(`Bearer ${await hs256({ role: "anon" })}`);
  await rejects401("Bearer sb_publishable_xyz");
  await rejects401(`Bearer ${await es256({ sub: USER_ID })}`);
  await rejects401(`Bearer ${await es256({ role: "authenticated" })}`);
  await rejects401(`Bearer ${await es256({ role: "authenticated", sub: "not-a-uuid" })}`);
  const noExp = await new SignJWT({ sub: USER_ID, role: "authenticated" })
    .setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(privateKey);
  await rejects401(`Bearer ${noExp}`);
});

Deno.test("HS256 is refused when the project has no legacy secret", async () => {
  const strict = createVerifier({ ...config, legacyJwtSecret: null });
  await assert.rejects(
    strict(`Bearer ${await hs256({ role: "service_role" })}`),
    (e: unknown) => e instanceof AppError && e.code === "unauthorized",
  );
});

Deno.test("the configured service-role key is the service even when no legacy secret is set", async () => {
  // Hosted projects hand functions a legacy HS256 service_role JWT as SUPABASE_SERVICE_ROLE_KEY;
  // a deployment without LEGACY_JWT_SECRET must still accept that exact key (and only it).
  const serviceKey = await hs256({ role: "service_role" });
  const strict = createVerifier({ ...config, legacyJwtSecret: null, serviceRoleKey: serviceKey });
  assert.equal((await strict(`Bearer ${serviceKey}`)).kind, "service");
  const otherServiceKey = await hs256({ role: "service_role", ref: "another-project" });
  await assert.rejects(
    strict(`Bearer ${otherServiceKey}`),
    (e: unknown) => e instanceof AppError && e.code === "unauthorized",
  );
  await assert.rejects(
    strict(`Bearer ${serviceKey}x`),
    (e: unknown) => e instanceof AppError && e.code === "unauthorized",
  );
});

Deno.test("a token whose kid is not in the JWKS is 401, even when signed by a known key", async () => {
  const token = await new SignJWT({ sub: USER_ID, role: "authenticated" })
    .setProtectedHeader({ alg: "ES256", kid: "unknown" }).setExpirationTime("1h").sign(privateKey);
  await rejects401(`Bearer ${token}`);
});

Deno.test("an unreachable JWKS URL is a 503, not a 401", async () => {
  const remote = createVerifier({ ...config, jwks: null });
  const token = await es256({ sub: USER_ID, role: "authenticated" });
  await assert.rejects(
    remote(`Bearer ${token}`),
    (e: unknown) => e instanceof AppError && e.status === 503,
  );
});

Deno.test("requireUser refuses the service (401) and requireService refuses users (403)", async () => {
  const service = await verify("Bearer sb_secret_abc");
  assert.throws(
    () => requireUser(service),
    (e: unknown) => e instanceof AppError && e.status === 401,
  );
  const user = await verify(`Bearer ${await es256({ sub: USER_ID, role: "authenticated" })}`);
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
