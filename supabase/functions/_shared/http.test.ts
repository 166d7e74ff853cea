import assert from "node:assert/strict";
import { createRoute, z } from "@hono/zod-openapi";
import { corsMiddleware } from "./cors.ts";
import { AppError } from "./app-error.ts";
import { createApi, decodablePath, limitBody, notFound, onError } from "./http.ts";

function app() {
  const api = createApi();
  api.use("*", corsMiddleware());
  api.use("*", decodablePath());
  api.use("*", limitBody(1024));
  api.openapi(
    createRoute({
      method: "post",
      path: "/echo",
      request: {
        body: {
          required: true,
          content: { "application/json": { schema: z.object({ n: z.number().int() }) } },
        },
      },
      responses: { 200: { description: "ok" } },
    }),
    (c) => c.json(c.req.valid("json"), 200),
  );
  api.get("/boom", () => {
    throw new AppError("forbidden", "No");
  });
  api.get("/bug", () => {
    throw new Error("bug");
  });
  api.onError(onError);
  api.notFound(notFound);
  return api;
}

async function post(body: string, contentType = "application/json") {
  return await app().request("/echo", {
    method: "POST",
    body,
    headers: { "content-type": contentType, origin: "http://x.test" },
  });
}

Deno.test("valid JSON passes the shared validation hook", async () => {
  const response = await post('{"n":1}');
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { n: 1 });
});

Deno.test("malformed JSON, wrong types, missing body and wrong content type are 400", async () => {
  for (
    const [body, type] of [
      ["{", "application/json"],
      ['{"n":"1"}', "application/json"],
      ['{"n":1.5}', "application/json"],
      ["", "application/json"],
      ["null", "application/json"],
      ["n=1", "application/x-www-form-urlencoded"],
      ['{"n":1}', "text/plain"],
    ]
  ) {
    const response = await post(body, type);
    assert.equal(response.status, 400, `${type} ${body}`);
    const json = await response.json();
    assert.equal(json.error.code, "invalid_request");
  }
  const typed = await (await post('{"n":"x"}')).json();
  assert.equal(typed.error.details.issues[0].path, "n");
});

Deno.test("bodies over the limit are 413 payload_too_large", async () => {
  const response = await post(JSON.stringify({ n: 1, pad: "x".repeat(2000) }));
  assert.equal(response.status, 413);
  assert.equal((await response.json()).error.code, "payload_too_large");
});

Deno.test("AppErrors, bugs and unknown routes get coded JSON with CORS headers", async () => {
  const boom = await app().request("/boom", { headers: { origin: "http://x.test" } });
  assert.equal(boom.status, 403);
  assert.equal(boom.headers.get("access-control-allow-origin"), "*");
  assert.equal((await boom.json()).error.code, "forbidden");
  const bug = await app().request("/bug");
  assert.equal(bug.status, 500);
  assert.equal((await bug.json()).error.code, "internal_error");
  const missing = await app().request("/nope");
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.code, "not_found");
});

Deno.test("CORS preflight is answered without authentication", async () => {
  const response = await app().request("/echo", {
    method: "OPTIONS",
    headers: {
      origin: "http://x.test",
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type, x-client-info, apikey",
    },
  });
  assert.equal(response.status, 204);
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
  assert.match(response.headers.get("access-control-allow-headers") ?? "", /authorization/);
});

Deno.test("a path whose percent-escapes do not decode is 400 invalid_path, not a raw id", async () => {
  const bad = await app().request("/items/%FF");
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.code, "invalid_path");
  const fine = await app().request("/items/%25FF");
  assert.equal(fine.status, 404, "a decodable path goes on to routing");
  await fine.body?.cancel();
});
