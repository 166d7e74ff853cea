/**
 * @module The plan file, the JSON report of a run, and their printed summaries.
 */
import type { Action, PlanItem } from "./planner.ts";
import type { UserQuota } from "./decide.ts";
import type { ExecuteResult } from "./executor.ts";
import { formatBytes, table } from "./format.ts";

/** The plan as written by `--plan-out`. */
export interface PlanFile {
  version: 1;
  createdAt: string;
  source: string;
  target: { url: string; bucket: string; prefix: string; homeTemplate: string | null };
  shard: string | null;
  totals: Record<Action, { objects: number; bytes: number }>;
  users: UserQuota[];
  items: PlanItem[];
}

/** Builds the plan file content. */
export function planFile(
  items: PlanItem[],
  users: UserQuota[],
  meta: {
    source: string;
    url: string;
    bucket: string;
    prefix: string;
    homeTemplate: string | null;
    shard: string | null;
  },
): PlanFile {
  const totals = { copy: zero(), rename: zero(), skip: zero(), refuse: zero() };
  for (const i of items) {
    totals[i.action].objects++;
    totals[i.action].bytes += i.size;
  }
  return {
    version: 1,
    createdAt: new Date().toISOString(),
    source: meta.source,
    target: {
      url: meta.url,
      bucket: meta.bucket,
      prefix: meta.prefix,
      homeTemplate: meta.homeTemplate,
    },
    shard: meta.shard,
    totals,
    users,
    items,
  };
}

function zero() {
  return { objects: 0, bytes: 0 };
}

const SHOWN = 20;

/** The plan as text: totals, refusals and renames (first 20 each), quota per user. */
export function planSummary(plan: PlanFile, dryRun: boolean): string {
  const out: string[] = [];
  const shard = plan.shard ? ` (shard ${plan.shard})` : "";
  out.push(
    `Plan: ${plan.source} -> ${plan.target.bucket}/${plan.target.prefix}${shard}${
      dryRun ? " (dry run: nothing is copied)" : ""
    }`,
  );
  out.push("");
  out.push(
    table(
      ["action", "objects", "bytes"],
      (Object.keys(plan.totals) as Action[]).map((
        a,
      ) => [a, String(plan.totals[a].objects), formatBytes(plan.totals[a].bytes)]),
    ),
  );
  const listed = (action: Action, title: string, line: (i: PlanItem) => string) => {
    const items = plan.items.filter((i) =>
      i.action === action && (action !== "skip" || i.reason?.code !== "already_present")
    );
    if (items.length === 0) return;
    out.push("", `${title} (${items.length}):`);
    for (const i of items.slice(0, SHOWN)) out.push(`  ${line(i)}`);
    if (items.length > SHOWN) {
      out.push(`  ... and ${items.length - SHOWN} more (see the plan file)`);
    }
  };
  listed("refuse", "Refused", (i) => `${i.source}: ${i.reason?.code}: ${i.reason?.message}`);
  listed("rename", "Renamed (keys Storage refuses)", (i) => `${i.source} -> ${i.target}`);
  const homeless = plan.items.filter((i) =>
    (i.action === "copy" || i.action === "rename") && i.userId === null
  );
  if (plan.target.homeTemplate && homeless.length > 0) {
    out.push(
      "",
      `Outside every home (${homeless.length}): no user owns these keys (home "${plan.target.homeTemplate}");` +
        " only the service role will reach them, and no quota counts them:",
    );
    for (const i of homeless.slice(0, SHOWN)) out.push(`  ${i.target}`);
    if (homeless.length > SHOWN) {
      out.push(`  ... and ${homeless.length - SHOWN} more (see the plan file)`);
    }
  }
  if (plan.users.length > 0) {
    out.push("", "Quota per user after the copy:");
    out.push(table(
      ["user", "email", "plan", "quota", "used", "incoming", "after", "status"],
      plan.users.map((u) => [
        u.userId,
        u.email ?? "",
        u.plan,
        formatBytes(u.quotaBytes),
        formatBytes(u.usedBytes + u.reservedBytes),
        formatBytes(u.incomingBytes),
        formatBytes(u.afterBytes),
        u.over ? "OVER QUOTA" : "ok",
      ]),
    ));
  }
  return out.join("\n");
}

/** The JSON report of an `--execute` run. */
export interface RunReport {
  source: string;
  target: PlanFile["target"];
  shard: string | null;
  startedAt: string;
  finishedAt: string;
  counts: {
    copied: number;
    renamed: number;
    skipped: number;
    refused: number;
    failed: number;
    deleted: number;
  };
  bytesCopied: number;
  copied: {
    source: string;
    target: string;
    size: number;
    md5: string;
    via: "put" | "tus";
    resumedAt?: number;
  }[];
  renamed: { source: string; target: string }[];
  skipped: { source: string; target: string; code: string }[];
  refused: { source: string; target: string; code: string; message: string }[];
  failed: ExecuteResult["failed"];
  deleted: string[];
}

/** Builds the report from the plan and what the run did. `renamed` lists the copied ones whose key changed. */
export function runReport(plan: PlanFile, result: ExecuteResult, startedAt: string): RunReport {
  const skipped = plan.items.filter((i) => i.action === "skip").map((i) => ({
    source: i.source,
    target: i.target,
    code: i.reason?.code ?? "",
  }));
  const refused = plan.items.filter((i) => i.action === "refuse").map((i) => ({
    source: i.source,
    target: i.target,
    code: i.reason?.code ?? "",
    message: i.reason?.message ?? "",
  }));
  const renamed = result.copied.filter((c) => c.renamed).map((c) => ({
    source: c.source,
    target: c.target,
  }));
  const copied = result.copied.map((c) => ({
    source: c.source,
    target: c.target,
    size: c.size,
    md5: c.md5,
    via: c.via,
    ...(c.resumedAt === undefined ? {} : { resumedAt: c.resumedAt }),
  }));
  const byKey = (
    a: { source: string },
    b: { source: string },
  ) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0);
  return {
    source: plan.source,
    target: plan.target,
    shard: plan.shard,
    startedAt,
    finishedAt: new Date().toISOString(),
    counts: {
      copied: copied.length,
      renamed: renamed.length,
      skipped: skipped.length,
      refused: refused.length,
      failed: result.failed.length,
      deleted: result.deleted.length,
    },
    bytesCopied: result.bytesCopied,
    copied: copied.sort(byKey),
    renamed: renamed.sort(byKey),
    skipped,
    refused,
    failed: [...result.failed].sort(byKey),
    deleted: [...result.deleted].sort(),
  };
}

/** The report as text. */
export function reportSummary(report: RunReport, reportPath: string): string {
  const c = report.counts;
  const out = [
    "",
    table(["copied", "renamed", "skipped", "refused", "failed", "deleted", "bytes copied"], [[
      String(c.copied),
      String(c.renamed),
      String(c.skipped),
      String(c.refused),
      String(c.failed),
      String(c.deleted),
      formatBytes(report.bytesCopied),
    ]]),
  ];
  if (report.failed.length > 0) {
    out.push("", `Failed (${report.failed.length}):`);
    for (const f of report.failed.slice(0, SHOWN)) {
      out.push(`  ${f.source}: ${f.code}: ${f.message} (${f.attempts} attempt(s))`);
    }
  }
  out.push("", `Report: ${reportPath}`);
  return out.join("\n");
}
