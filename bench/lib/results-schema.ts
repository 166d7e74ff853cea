/**
 * @module The zod schema of the results file (`bench/results/latest.json`),
 * so a reader (and the schema test) can rely on its shape.
 */
import { z } from "zod";

const ms = z.number().nonnegative().nullable();

/** One contender's numbers. */
export const ContenderSchema = z.object({
  name: z.string().min(1),
  ours: z.boolean(),
  n: z.number().int().nonnegative(),
  reps: z.number().int().nonnegative(),
  median_ms: ms,
  p99_ms: ms,
  min_ms: ms,
  max_ms: ms,
  calls: z.number().int().nonnegative().optional(),
  per_second: z.number().nonnegative().optional(),
  compareTo: z.string().optional(),
  note: z.string().optional(),
  error: z.string().optional(),
}).refine((c) => (c.error === undefined) === (c.median_ms !== null), {
  message: "a contender has numbers exactly when it has no error",
});

/** The machine facts. */
export const MachineSchema = z.object({
  cpus: z.number().int().positive(),
  memory: z.number().int().positive(),
  os: z.string().min(1),
  deno: z.string().min(1),
  loadavg: z.array(z.number()),
});

const Mode = z.enum(["full", "quick", "tiny"]);

/** One scenario's results. */
export const ScenarioSchema = z.object({
  scenario: z.string().min(1),
  title: z.string().min(1),
  n: z.number().int().nonnegative(),
  mode: Mode,
  contenders: z.array(ContenderSchema),
  ratios: z.record(z.string(), z.number().nonnegative().nullable()),
  goal: z.string().min(1),
  goalMet: z.boolean().nullable(),
  goalDetail: z.string(),
  notes: z.array(z.string()),
  machine: MachineSchema,
  startedAt: z.iso.datetime(),
  durationMs: z.number().int().nonnegative(),
}).refine((s) => s.contenders.every((c) => c.name in s.ratios), {
  message: "every contender has a ratio entry",
});

/** The whole results file. */
export const ResultsSchema = z.object({
  generatedAt: z.iso.datetime(),
  mode: Mode,
  machine: MachineSchema,
  scenarios: z.array(ScenarioSchema),
});
