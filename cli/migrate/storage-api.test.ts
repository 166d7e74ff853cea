import assert from "node:assert/strict";
import process from "node:process";
import { encodeKey, StorageApi, StorageError, storageErrorFrom } from "./storage-api.ts";

Deno.test("storageErrorFrom reads Storage's HTTP-400 envelope and marks server trouble transient", () => {
  const dup = storageErrorFrom(
    400,
    JSON.stringify({
      statusCode: "409",
      error: "Duplicate",
      code: "KeyAlreadyExists",
      message: "The resource already exists",
    }),
    'upload "a"',
  );
  assert.deepEqual([dup.code, dup.status, dup.transient], ["KeyAlreadyExists", 409, false]);
  assert.match(
    dup.message,
    /^Cannot upload "a": 409 KeyAlreadyExists: The resource already exists$/,
  );
  const lock = storageErrorFrom(
    400,
    JSON.stringify({ statusCode: "503", code: "LockTimeout", message: "x" }),
    "upload",
  );
  assert.equal(lock.transient, true);
  const gateway = storageErrorFrom(502, "<html>Bad gateway</html>", "upload");
  assert.deepEqual([gateway.code, gateway.status, gateway.transient], ["http_502", 502, true]);
});

Deno.test("encodeKey encodes each segment and keeps the slashes", () => {
  assert.equal(encodeKey("u/a b+c&d.mp3"), "u/a%20b%2Bc%26d.mp3");
});

Deno.test("upload sends Content-Length, the type and the upsert flag, and hashes what it sent", async () => {
  const seen: Record<string, string>[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = new Uint8Array(await req.arrayBuffer());
    seen.push({
      path: new URL(req.url).pathname,
      length: req.headers.get("content-length") ?? "",
      type: req.headers.get("content-type") ?? "",
      upsert: req.headers.get("x-upsert") ?? "",
      size: String(body.length),
    });
    return Response.json({ Key: "b/k", Id: "1" });
  });
  try {
    const api = new StorageApi(`http://127.0.0.1:${server.addr.port}`, "service-key");
    const body = new Blob(["hello ", "world"]).stream();
    const digest = await api.upload("b", "a b/c.txt", body, {
      size: 11,
      contentType: "text/plain",
      upsert: false,
      sha256: true,
    });
    assert.equal(digest.md5, "5eb63bbbe01eeed093cb22bb8f5acdc3");
    assert.equal(digest.sha256, "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
    assert.deepEqual(seen, [{
      path: "/storage/v1/object/b/a%20b/c.txt",
      length: "11",
      type: "text/plain",
      upsert: "false",
      size: "11",
    }]);
    await assert.rejects(
      api.upload("b", "k", new Blob(["short"]).stream(), {
        size: 10,
        contentType: "text/plain",
        upsert: false,
        sha256: false,
      }),
      { code: "source_changed" },
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("upload fails as a transient network_error when the server stops answering", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn); // accepted, never read or answered
  })();
  try {
    const api = new StorageApi(`http://127.0.0.1:${listener.addr.port}`, "k", {
      idleTimeoutMs: 300,
    });
    const started = Date.now();
    await assert.rejects(
      api.upload("b", "k", new Blob(["x"]).stream(), {
        size: 1,
        contentType: "text/plain",
        upsert: false,
        sha256: false,
      }),
      (e: unknown) => e instanceof StorageError && e.code === "network_error" && e.transient,
    );
    assert.ok(Date.now() - started < 5000);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const c of held) c.close();
  }
});

Deno.test("a large upload that waits for the socket to drain many times adds no listeners (no MaxListenersExceededWarning)", async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on("warning", onWarning);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    // Read slowly so the client's socket buffer fills and `write` asks it to wait.
    let n = 0;
    for await (const chunk of req.body!) {
      n += chunk.length;
      await new Promise((r) => setTimeout(r, 1));
    }
    return Response.json({ Key: "b/k", Id: String(n) });
  });
  try {
    const api = new StorageApi(`http://127.0.0.1:${server.addr.port}`, "k");
    const size = 8 * 1024 * 1024;
    const chunk = new Uint8Array(64 * 1024);
    let left = size;
    const body = new ReadableStream<Uint8Array>({
      pull(ctl) {
        if (left === 0) return ctl.close();
        left -= chunk.length;
        ctl.enqueue(chunk.slice());
      },
    });
    await api.upload("b", "k", body, {
      size,
      contentType: "application/octet-stream",
      upsert: false,
      sha256: false,
    });
    await new Promise((r) => setTimeout(r, 10)); // warnings are emitted on the next tick
    assert.deepEqual(warnings, []);
  } finally {
    process.off("warning", onWarning);
    await server.shutdown();
  }
});
