/**
 * @module The stack's ports: derived from STOWAGE_PORT (or set), checked for
 * overlaps, and a port in use is refused with its number and its variable.
 */
import assert from "node:assert/strict";
import { assertPortsFree, stackPorts } from "./ports.ts";

Deno.test("ports derive from STOWAGE_PORT: internal gateway at +10, then one per function in name order", () => {
  const p = stackPorts({ STOWAGE_PORT: "60000" }, ["storage", "assistants"]);
  assert.equal(p.api, 60000);
  assert.equal(p.db, 54322);
  assert.equal(p.internal, 60010);
  assert.deepEqual(p.functions, { assistants: 60011, storage: 60012 });
  const set = stackPorts({ STOWAGE_INTERNAL_PORT: "61000" }, ["a"]);
  assert.equal(set.internal, 61000);
  assert.equal(set.functions.a, 61001);
});

Deno.test("a value that is not a port, or two uses of one port, is refused naming the variables", () => {
  assert.throws(
    () => stackPorts({ STOWAGE_PORT: "abc" }, []),
    /STOWAGE_PORT="abc" is not a TCP port/,
  );
  assert.throws(
    () => stackPorts({ STOWAGE_PORT: "54321", STOWAGE_DB_PORT: "54331" }, []),
    /Port 54331 would serve both PostgreSQL \(STOWAGE_DB_PORT\) and the functions' internal gateway \(STOWAGE_INTERNAL_PORT\)/,
  );
});

Deno.test("a port in use is reported with its number and the variable to change", () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  try {
    const p = stackPorts({ STOWAGE_DB_PORT: String(port), STOWAGE_PORT: "1" }, []);
    assert.throws(
      () => assertPortsFree(p.all.filter((u) => u.variable === "STOWAGE_DB_PORT")),
      new RegExp(
        `^Error: Port ${port} \\(PostgreSQL\\) is already in use on 127\\.0\\.0\\.1: .*STOWAGE_DB_PORT=`,
      ),
    );
  } finally {
    taken.close();
  }
});
