/**
 * @module Words for the example page: byte sizes, dates, and the server's
 * refusals explained to a person (quota, size, type...).
 */
import { StowageError } from "@stowage/client";

const UNITS = ["bytes", "KiB", "MiB", "GiB", "TiB"];

/** `1536` -> `1.5 KiB`, `10` -> `10 bytes`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** `1` -> `1 file`, `3` -> `3 files`. */
export function files(count: number): string {
  return `${count} file${count === 1 ? "" : "s"}`;
}

/** An ISO date as a short local date and time, or a dash. */
export function formatDate(iso: string | null): string {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function num(details: unknown, key: string): number | undefined {
  const value = (details as Record<string, unknown> | null)?.[key];
  return typeof value === "number" ? value : undefined;
}

/** Explains a failed call in a sentence a user understands. */
export function explain(error: unknown, fileName?: string): string {
  if (!(error instanceof StowageError)) return `Something went wrong: ${String(error)}`;
  const d = error.details;
  const what = fileName ? `"${fileName}"` : "This file";
  switch (error.code) {
    case "quota_exceeded": {
      const quota = num(d, "quotaBytes");
      const used = (num(d, "usedBytes") ?? 0) + (num(d, "reservedBytes") ?? 0);
      const requested = num(d, "requestedBytes");
      if (quota === undefined || requested === undefined) return `Storage full: ${error.message}`;
      return `Storage full: ${what} needs ${formatBytes(requested)}, but only ${
        formatBytes(Math.max(0, quota - used))
      } of your ${formatBytes(quota)} plan is left.`;
    }
    case "file_too_large": {
      const max = num(d, "maxBytes");
      return max === undefined
        ? `Too large: ${error.message}`
        : `Too large: ${what} is bigger than the ${formatBytes(max)} allowed per file here.`;
    }
    case "upload_too_large":
      return `Too large: ${what} is bigger than it was declared (${error.message}).`;
    case "unsupported_media_type": {
      const allowed = (d as { allowed?: string[] } | null)?.allowed;
      return `Wrong type: this bucket does not take ${what}${
        allowed ? `; it accepts ${allowed.join(", ")}` : ""
      }.`;
    }
    case "already_exists":
      return `${what} already exists in this folder.`;
    case "invalid_path":
      return `Invalid name: ${error.message}`;
    case "unauthorized":
      return "Your session has expired or the token is invalid: sign in again.";
    case "network_error":
      return "Cannot reach the server: check your connection and try again.";
    case "aborted":
      return "Cancelled.";
    default:
      return `${error.message} (${error.code}, HTTP ${error.status})`;
  }
}
