/**
 * @module The gateway: JWKS, routing to functions (including one that is
 * missing or crashes), the Storage-API prefix, and API keys as the platform's
 * gateway treats them (role JWTs toward Storage, secret keys refused from
 * browsers, legacy keys refused when disabled).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { client, stack } from "../tests/support/stack.ts";
import { FunctionsHost } from "./functions.ts";
import { applyApiKeys, createGateway, type GatewayKeys } from "./gateway.ts";

Deno.test("the gateway serves the JWKS and routes /functions/v1/storage to the function", async () => {
  const s = await stack();
  const jwks = await (await fetch(`${s.url}/auth/v1/.well-known/jwks.json`)).json();
  assert.equal(jwks.keys[0].alg, "ES256");
  assert.ok(jwks.keys[0].kid);
  assert.equal(jwks.keys[0].d, undefined, "the private part is never published");
  const health = await fetch(`${s.url}/functions/v1/storage/health`);
  assert.ok([200, 503].includes(health.status));
  assert.equal(health.headers.get("content-type")?.split(";")[0], "application/json");
  await health.body?.cancel();
});

Deno.test("an unknown function answers 404 JSON and an unknown route 404", async () => {
  const s = await stack();
  const res = await fetch(`${s.url}/functions/v1/no-such-function/x`);
  assert.equal(res.status, 404);
  assert.equal((await res.json()).code, "NOT_FOUND");
  const other = await fetch(`${s.url}/nothing/here`);
  assert.equal(other.status, 404);
  await other.body?.cancel();
});

Deno.test("a function that crashes answers 502 and the gateway lives on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "stowage-fn-" });
  try {
    await Deno.mkdir(join(dir, "boom"));
    await Deno.writeTextFile(join(dir, "boom/index.ts"), 'throw new Error("boot failure");\n');
    await Deno.mkdir(join(dir, "echo"));
    await Deno.writeTextFile(
      join(dir, "echo/index.ts"),
      `Deno.serve((req) => new Response(req.method + " " + new URL(req.url).pathname, {
         headers: { "access-control-allow-origin": "*" } }));\n`,
    );
    const names = await FunctionsHost.discover(dir);
    assert.deepEqual(names, ["boom", "echo"]);
    const host = new FunctionsHost(
      dir,
      { PATH: Deno.env.get("PATH") ?? "" },
      join(dir, "fn.log"),
      names,
    );
    const gateway = createGateway({
      functions: host,
      storage: () => Promise.resolve(new Response("storage")),
      jwks: { keys: [] },
    });
    try {
      const boom = await gateway(new Request("http://x/functions/v1/boom/"));
      assert.equal(boom.status, 502);
      assert.equal((await boom.json()).code, "BOOT_ERROR");
      const echo = await gateway(
        new Request("http://x/functions/v1/echo/a/b?q=1", { method: "OPTIONS" }),
      );
      assert.equal(echo.status, 200);
      assert.equal(
        await echo.text(),
        "OPTIONS /echo/a/b",
        "preflights pass through to the function",
      );
      const storage = await gateway(new Request("http://x/storage/v1/object/list/b"));
      assert.equal(await storage.text(), "storage");
    } finally {
      await host.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const KEYS: GatewayKeys = {
  publishable: "sb_publishable_test",
  secret: "sb_secret_test",
  legacy: { anon: "eyJ.anon.jwt", serviceRole: "eyJ.service.jwt" },
  legacyEnabled: true,
  roleToken: (role) => Promise.resolve(`minted-${role}`),
};

async function forwarded(
  headers: Record<string, string>,
  options: { keys?: GatewayKeys; translate?: boolean } = {},
): Promise<string | number> {
  const out = await applyApiKeys(
    new Request("http://x/storage/v1/bucket", { headers }),
    options.keys ?? KEYS,
    options.translate ?? true,
  );
  if (out instanceof Response) {
    await out.body?.cancel();
    return out.status;
  }
  return out.headers.get("authorization") ?? "none";
}

Deno.test("toward Storage an sb_ apikey without a user token becomes its role's JWT", async () => {
  assert.equal(await forwarded({ apikey: KEYS.publishable }), "Bearer minted-anon");
  assert.equal(
    await forwarded({ apikey: KEYS.secret, authorization: `Bearer ${KEYS.secret}` }),
    "Bearer minted-service_role",
    "supabase-js sends the key in both headers",
  );
  assert.equal(
    await forwarded({ apikey: KEYS.publishable, authorization: "Bearer user.jwt.here" }),
    "Bearer user.jwt.here",
    "a user's token stays",
  );
  assert.equal(await forwarded({ apikey: "sb_secret_unknown" }), 401, "an unknown key is 401");
  assert.equal(
    await forwarded({ apikey: KEYS.publishable }, { translate: false }),
    "none",
    "functions get the headers as sent",
  );
});

Deno.test("a secret key from a browser is refused 401 on every route, a publishable key is not", async () => {
  for (const translate of [true, false]) {
    assert.equal(
      await forwarded({ apikey: KEYS.secret, origin: "http://localhost:3000" }, { translate }),
      401,
    );
    assert.equal(
      await forwarded({
        authorization: `Bearer ${KEYS.secret}`,
        "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/140",
      }, { translate }),
      401,
    );
  }
  assert.equal(
    await forwarded({ apikey: KEYS.publishable, origin: "http://localhost:3000" }),
    "Bearer minted-anon",
  );
});

Deno.test("with legacy keys disabled the anon and service_role JWTs are refused 401", async () => {
  const off = { ...KEYS, legacyEnabled: false };
  for (const translate of [true, false]) {
    assert.equal(await forwarded({ apikey: KEYS.legacy.anon }, { keys: off, translate }), 401);
    assert.equal(
      await forwarded({ authorization: `Bearer ${KEYS.legacy.serviceRole}` }, {
        keys: off,
        translate,
      }),
      401,
    );
  }
  assert.equal(await forwarded({ apikey: KEYS.legacy.anon }), "none", "enabled: untouched");
});

Deno.test("the stack's gateway: publishable and secret keys reach Storage as their roles", async () => {
  const s = await stack();
  assert.match(s.publishableKey, /^sb_publishable_/);
  assert.match(s.secretKey, /^sb_secret_/);
  const asSecret = await fetch(`${s.url}/storage/v1/bucket`, { headers: { apikey: s.secretKey } });
  assert.equal(asSecret.status, 200, "the secret key acts as service_role: it lists buckets");
  assert.ok(Array.isArray(await asSecret.json()));
  const fromBrowser = await fetch(`${s.url}/storage/v1/bucket`, {
    headers: { apikey: s.secretKey, origin: "http://localhost:3000" },
  });
  assert.equal(fromBrowser.status, 401);
  assert.match((await fromBrowser.json()).message, /secret API key in browser/);
  const unknown = await fetch(`${s.url}/storage/v1/bucket`, {
    headers: { apikey: "sb_secret_0000000000000000000000" },
  });
  assert.equal(unknown.status, 401);
  await unknown.body?.cancel();
  const anon = await (await client()).storage.from("audiofiles").list("");
  assert.equal(anon.error, null, "the publishable key acts as anon: RLS shows nothing");
  assert.deepEqual(anon.data, []);
  const legacy = await fetch(`${s.url}/storage/v1/bucket`, {
    headers: { apikey: s.serviceRoleKey, authorization: `Bearer ${s.serviceRoleKey}` },
  });
  assert.equal(legacy.status, s.legacyKeysEnabled ? 200 : 401);
  await legacy.body?.cancel();
});

Deno.test("the function proxy passes small bodies whole and streams large or unsized ones intact", async () => {
  const backend = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path.endsWith("/empty")) return new Response(null, { status: 204 });
    if (path.endsWith("/stream")) {
      // No content-length: 4 chunks of 256 KiB, as a streamed response.
      let sent = 0;
      return new Response(
        new ReadableStream({
          pull(c) {
            if (sent++ === 4) c.close();
            else c.enqueue(new Uint8Array(256 * 1024).fill(sent));
          },
        }),
      );
    }
    const body = new Uint8Array(await req.arrayBuffer());
    let sum = 0;
    for (const b of body) sum = (sum + b) % 65521;
    return Response.json({ length: body.length, sum, type: req.headers.get("content-type") });
  });
  const port = (backend.addr as Deno.NetAddr).port;
  const gateway = createGateway({
    functions: { has: () => true, port: () => Promise.resolve(port) } as unknown as FunctionsHost,
    storage: () => Promise.resolve(new Response("storage")),
    jwks: { keys: [] },
  });
  const url = "http://x/functions/v1/echo";
  try {
    const small = await gateway(
      new Request(`${url}/small`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": "11" },
        body: '{"a":"b c"}',
      }),
    );
    const smallSum = [...new TextEncoder().encode('{"a":"b c"}')].reduce((a, b) => a + b, 0);
    assert.deepEqual(await small.json(), { length: 11, sum: smallSum, type: "application/json" });

    const big = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
    let expected = 0;
    for (const b of big) expected = (expected + b) % 65521;
    const chunked = await gateway(
      new Request(`${url}/chunked`, {
        method: "POST",
        body: new ReadableStream({
          start(c) {
            for (let i = 0; i < big.length; i += 100_000) c.enqueue(big.slice(i, i + 100_000));
            c.close();
          },
        }),
        // @ts-ignore: duplex is required for streamed request bodies
        duplex: "half",
      }),
    );
    assert.deepEqual(await chunked.json(), { length: big.length, sum: expected, type: null });

    // A GET that declares an empty body (some clients send content-length: 0) is no 502.
    const get = await gateway(
      new Request(`${url}/get`, { headers: { "content-length": "0" } }),
    );
    assert.deepEqual(await get.json(), { length: 0, sum: 0, type: null });

    // HEAD keeps the length the function declared, with no body.
    const head = await gateway(new Request(`${url}/head`, { method: "HEAD" }));
    assert.equal(head.status, 200);
    assert.equal(head.body, null);
    assert.equal(head.headers.get("content-length"), get.headers.get("content-length"));

    const empty = await gateway(new Request(`${url}/empty`));
    assert.equal(empty.status, 204);
    assert.equal(empty.body, null);

    const streamed = await gateway(new Request(`${url}/stream`));
    const bytes = new Uint8Array(await streamed.arrayBuffer());
    assert.equal(bytes.length, 1024 * 1024);
    assert.deepEqual([bytes[0], bytes[256 * 1024], bytes[bytes.length - 1]], [1, 2, 4]);
  } finally {
    await backend.shutdown();
  }
});
