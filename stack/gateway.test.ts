/**
 * @module The gateway: JWKS, routing to functions (including one that is
 * missing or crashes), the Storage-API prefix.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { stack } from "../tests/support/stack.ts";
import { FunctionsHost } from "./functions.ts";
import { createGateway } from "./gateway.ts";

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
