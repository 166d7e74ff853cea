/**
 * @module Bad input never crashes the double and never answers 500 (the real server's
 * 500s are database errors from triggers only): malformed JSON, missing headers, wrong
 * types, unknown routes, huge bodies, invalid keys, unknown buckets, broken multipart.
 */
import assert from "node:assert/strict";
import { startServer } from "./testing.ts";

Deno.test("bad input is answered with the error envelope, never 500", async () => {
  const srv = await startServer();
  const bucket = `bad-${crypto.randomUUID().slice(0, 8)}`;
  const S = `Bearer ${srv.serviceKey}`;
  const J = { authorization: S, "content-type": "application/json" };
  const huge = new Uint8Array(2 * 1024 * 1024).fill(32);
  const cases: [string, string, RequestInit][] = [
    ["malformed JSON", "/object/list/B", { method: "POST", headers: J, body: "{nope" }],
    ["empty JSON body", "/object/list/B", { method: "POST", headers: J }],
    ["JSON array body", "/object/list/B", { method: "POST", headers: J, body: "[]" }],
    ["JSON null body", "/object/sign/B", { method: "POST", headers: J, body: "null" }],
    ["wrong type prefix", "/object/list/B", { method: "POST", headers: J, body: '{"prefix":{}}' }],
    ["wrong type limit", "/object/list/B", {
      method: "POST",
      headers: J,
      body: '{"prefix":"","limit":"many"}',
    }],
    ["negative offset", "/object/list/B", {
      method: "POST",
      headers: J,
      body: '{"prefix":"","offset":-1}',
    }],
    ["bad sort column", "/object/list/B", {
      method: "POST",
      headers: J,
      body: '{"prefix":"","sortBy":{"column":"x;drop"}}',
    }],
    ["bad cursor", "/object/list-v2/B", { method: "POST", headers: J, body: '{"cursor":"%%%"}' }],
    ["cursor of garbage", "/object/list-v2/B", {
      method: "POST",
      headers: J,
      body: JSON.stringify({ cursor: btoa("zz") }),
    }],
    ["expiresIn string", "/object/sign/B/a.txt", {
      method: "POST",
      headers: J,
      body: '{"expiresIn":"soon"}',
    }],
    ["expiresIn huge", "/object/sign/B/a.txt", {
      method: "POST",
      headers: J,
      body: '{"expiresIn":1e300}',
    }],
    ["paths an object", "/object/sign/B", {
      method: "POST",
      headers: J,
      body: '{"expiresIn":60,"paths":{"a":1}}',
    }],
    ["paths of numbers", "/object/sign/B", {
      method: "POST",
      headers: J,
      body: '{"expiresIn":60,"paths":[1,{}]}',
    }],
    ["too many paths", "/object/sign/B", {
      method: "POST",
      headers: J,
      body: JSON.stringify({ expiresIn: 60, paths: Array(1001).fill("a") }),
    }],
    ["prefixes missing", "/object/B", { method: "DELETE", headers: J, body: "{}" }],
    ["huge JSON", "/object/list/B", { method: "POST", headers: J, body: huge }],
    ["no authorization", "/object/list/B", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"prefix":""}',
    }],
    ["garbage token", "/bucket", { headers: { authorization: "Bearer x.y.z" } }],
    ["empty bearer", "/bucket", { headers: { authorization: "Bearer " } }],
    ["unknown bucket route", "/bucket/a/b/c", {}],
    ["unknown object route", "/object/", {}],
    ["unknown method", "/object/B/a.txt", { method: "PATCH", headers: J, body: "{}" }],
    ["invalid key", "/object/B/%E2%9C%93.txt", {
      method: "POST",
      headers: { authorization: S, "content-type": "text/plain" },
      body: "x",
    }],
    ["broken percent-encoding", "/object/B/%E0%A4%A.txt", { headers: { authorization: S } }],
    ["dot segments", "/object/B/a/..%2F..%2Fb.txt", {
      method: "POST",
      headers: { authorization: S, "content-type": "text/plain" },
      body: "x",
    }],
    ["unknown bucket upload", "/object/nope-nope/a.txt", {
      method: "POST",
      headers: { authorization: S, "content-type": "text/plain" },
      body: "x",
    }],
    ["invalid bucket name", "/object/b%5Eb/a.txt", {
      method: "POST",
      headers: { authorization: S, "content-type": "text/plain" },
      body: "x",
    }],
    ["multipart without file", "/object/B/m.txt", {
      method: "POST",
      headers: { authorization: S, "content-type": "multipart/form-data; boundary=xx" },
      body: '--xx\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--xx--\r\n',
    }],
    ["multipart truncated", "/object/B/m.txt", {
      method: "POST",
      headers: { authorization: S, "content-type": "multipart/form-data; boundary=xx" },
      body: '--xx\r\nContent-Disposition: form-data; name=""; filename="b"\r\n\r\nabc',
    }],
    ["multipart no boundary", "/object/B/m.txt", {
      method: "POST",
      headers: { authorization: S, "content-type": "multipart/form-data" },
      body: "abc",
    }],
    ["signed PUT bad token", "/object/upload/sign/B/a.txt?token=abc", {
      method: "PUT",
      body: "x",
    }],
    ["signed GET no token", "/object/sign/B/a.txt", {}],
    ["bad range", "/object/B/ok.txt", { headers: { authorization: S, range: "bytes=999-" } }],
    ["bucket bad size", "/bucket", {
      method: "POST",
      headers: J,
      body: '{"name":"x-bad-size","file_size_limit":"lots"}',
    }],
    ["bucket bad mime", "/bucket", {
      method: "POST",
      headers: J,
      body: '{"name":"x-bad-mime","allowed_mime_types":["not a mime"]}',
    }],
    ["bucket name too long", "/bucket", {
      method: "POST",
      headers: J,
      body: JSON.stringify({ name: "b".repeat(101) }),
    }],
    ["bucket update nothing", `/bucket/B`, { method: "PUT", headers: J, body: "{}" }],
    ["move wrong types", "/object/move", {
      method: "POST",
      headers: J,
      body: '{"bucketId":1,"sourceKey":[],"destinationKey":null}',
    }],
    ["copy from unknown bucket", "/object/copy", {
      method: "POST",
      headers: J,
      body: '{"bucketId":"nope-nope","sourceKey":"a","destinationKey":"b"}',
    }],
    ["list buckets bad limit", "/bucket?limit=abc", { headers: { authorization: S } }],
  ];
  try {
    const r = await fetch(`${srv.url}/bucket`, {
      method: "POST",
      headers: J,
      body: JSON.stringify({ name: bucket }),
    });
    assert.equal(r.status, 200, await r.text());
    await fetch(`${srv.url}/object/${bucket}/ok.txt`, {
      method: "POST",
      headers: { authorization: S, "content-type": "text/plain" },
      body: "ok",
    }).then((r) => r.text());
    for (const [what, path, init] of cases) {
      const res = await fetch(`${srv.url}${path.replace("/B", `/${bucket}`)}`, init);
      const text = await res.text();
      assert.notEqual(res.status, 500, `${what}: ${text}`);
      assert.ok(res.status >= 400, `${what}: status ${res.status} ${text}`);
      const body = JSON.parse(text);
      assert.deepEqual(Object.keys(body), ["statusCode", "error", "message", "code"], what);
    }
    // Outside the REST prefixes Fastify's own 404 answers, in its own shape.
    const nope = await fetch(`${srv.url}/nope`);
    assert.equal(nope.status, 404);
    assert.deepEqual(await nope.json(), {
      message: "Route GET:/nope not found",
      error: "Not Found",
      statusCode: 404,
    });
    // A bad x-metadata value is ignored, as by the real server: the upload succeeds.
    const meta = await fetch(`${srv.url}/object/${bucket}/meta.txt`, {
      method: "POST",
      headers: { authorization: S, "content-type": "text/plain", "x-metadata": "!!!" },
      body: "x",
    });
    assert.equal(meta.status, 200, await meta.text());
    // A Range the file backend cannot parse (another unit) is 416 InvalidRange, as there.
    const ranged = await fetch(`${srv.url}/object/${bucket}/ok.txt`, {
      headers: { authorization: S, range: "lines=1" },
    });
    assert.equal(ranged.status, 416);
    assert.equal((await ranged.json()).code, "InvalidRange");
    const alive = await fetch(`${srv.url}/object/${bucket}/ok.txt`, {
      headers: { authorization: S },
    });
    assert.equal(await alive.text(), "ok");
  } finally {
    const auth = { authorization: S };
    await fetch(`${srv.url}/bucket/${bucket}/empty`, { method: "POST", headers: auth })
      .then((r) => r.body?.cancel());
    await fetch(`${srv.url}/bucket/${bucket}`, { method: "DELETE", headers: auth })
      .then((r) => r.body?.cancel());
    await srv.close();
  }
});
