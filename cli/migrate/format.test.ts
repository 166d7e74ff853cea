import assert from "node:assert/strict";
import { formatBytes, table } from "./format.ts";
import { formatDuration, Progress } from "./progress.ts";

Deno.test("formatBytes uses binary units", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(524288000), "500.0 MiB");
});

Deno.test("table aligns columns and right-aligns numbers", () => {
  assert.equal(
    table(["action", "objects"], [["copy", "12"], ["refuse", "3"]]),
    "action  objects\n------  -------\ncopy         12\nrefuse        3",
  );
});

Deno.test("Progress writes plain lines off a TTY with objects, bytes, rate and ETA", () => {
  const written: string[] = [];
  const out = {
    writeSync: (p: Uint8Array) => (written.push(new TextDecoder().decode(p)), p.length),
  };
  const p = new Progress(2, 2048, { tty: false, out });
  p.bytes(1024);
  p.object(true);
  p.object(false);
  p.finish();
  assert.equal(written.length, 1);
  assert.match(
    written[0],
    /^objects 2\/2, 1 failed {2}bytes 1\.0 KiB\/2\.0 KiB {2}.+\/s {2}ETA .+\n$/,
  );
  assert.equal(formatDuration(3725), "1:02:05");
});
