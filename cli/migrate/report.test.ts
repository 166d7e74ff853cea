import assert from "node:assert/strict";
import { planFile, planSummary } from "./report.ts";
import type { PlanItem } from "./planner.ts";

const item = (over: Partial<PlanItem>): PlanItem => ({
  source: "s",
  size: 1,
  stamp: "x",
  target: "t",
  action: "copy",
  contentType: "text/plain",
  userId: null,
  ...over,
});

Deno.test("planSummary lists refusals, renames and keys outside every home of a managed bucket", () => {
  const plan = planFile(
    [
      item({
        source: "a",
        target: "a",
        action: "refuse",
        reason: { code: "unknown_user", message: "No user" },
      }),
      item({ source: "b#", target: "b_-12345678", action: "rename", userId: "u1" }),
      item({ source: "shared/c", target: "shared/c" }),
    ],
    [],
    {
      source: "/src",
      url: "http://x",
      bucket: "lms",
      prefix: "",
      homeTemplate: "user_data/{uid}/",
      shard: null,
    },
  );
  assert.deepEqual(plan.totals.copy, { objects: 1, bytes: 1 });
  const text = planSummary(plan, true);
  assert.match(text, /dry run/);
  assert.match(text, /Refused \(1\):\n {2}a: unknown_user: No user/);
  assert.match(text, /Renamed \(keys Storage refuses\) \(1\):\n {2}b# -> b_-12345678/);
  assert.match(text, /Outside every home \(1\)[^\n]*\n {2}shared\/c/);
});
