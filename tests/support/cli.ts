/**
 * @module Helpers for the CLI's integration tests: a local S3 server (s3rver 3.7.1 under
 * Node, TOOLCHAIN.md §5) on a free port, and a runner for `cli/main.ts` as a subprocess.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { freePort } from "../../stack/functions.ts";

export { freePort };

const root = new URL("../../", import.meta.url).pathname;

/** A running s3rver: its endpoint, a client, and `stop()` (by PID). */
export interface S3Server {
  endpoint: string;
  client: S3Client;
  /** Env for the CLI subprocess (credentials). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Starts s3rver with a fresh data directory; call `stop()` in `finally`. */
export async function startS3(): Promise<S3Server> {
  const dir = await Deno.makeTempDir({ prefix: "stowage-s3-" });
  const port = freePort();
  const child = new Deno.Command("node", {
    args: [
      `${root}tools/node_modules/s3rver/bin/s3rver.js`,
      "-d",
      dir,
      "-a",
      "127.0.0.1",
      "-p",
      String(port),
      "--silent",
    ],
    env: { NODE_OPTIONS: "--openssl-legacy-provider" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already exited */ }
    await child.stderr.cancel();
    await child.status;
    client.destroy();
    await Deno.remove(dir, { recursive: true });
  };
  const client = new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(endpoint);
      await res.body?.cancel();
      return {
        endpoint,
        client,
        env: {
          AWS_ACCESS_KEY_ID: "S3RVER",
          AWS_SECRET_ACCESS_KEY: "S3RVER",
          AWS_REGION: "us-east-1",
        },
        stop,
      };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stop();
  throw new Error(`s3rver did not start on ${endpoint}`);
}

/** Output of one CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cli/main.ts` with args and extra env; waits for it. */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<CliRun> {
  const out = await cliCommand(args, env, cwd).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** The CLI as a `Deno.Command` (for tests that need the child, e.g. to kill it). */
export function cliCommand(
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", `${root}deno.json`, `${root}cli/main.ts`, ...args],
    env: { NO_COLOR: "1", ...env },
    cwd,
    stdout: "piped",
    stderr: "piped",
  });
}

/** Writes a file, creating its parent folders. */
export async function writeFile(path: string, data: Uint8Array | string): Promise<void> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  if (typeof data === "string") await Deno.writeTextFile(path, data);
  else await Deno.writeFile(path, data);
}

/** Deterministic pseudo-random bytes (fast, for big files). */
export function bytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 255;
    out[i + 1] = (x >>> 8) & 255;
    out[i + 2] = (x >>> 16) & 255;
    out[i + 3] = (x >>> 24) & 255;
  }
  return out;
}
