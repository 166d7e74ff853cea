/**
 * @module Rules for API paths, which are relative to the caller's home folder
 * (a client never sends its own or another user's prefix). Shared with the
 * CLI so both refuse the same keys the Storage server would.
 */
import { AppError } from "./app-error.ts";

/**
 * Characters the Storage server accepts in an object key (storage-api
 * `src/storage/limits.ts`). We also refuse `?`: it is in the server's set but
 * storage-js puts keys into URLs unencoded, so such an object could be
 * reserved yet never uploaded or downloaded.
 */
export const STORAGE_KEY_CHARS = /^[A-Za-z0-9_/!.*'() &$=@;:+,?-]*$/;

/** Longest path accepted, in bytes (S3 keys are at most 1024 including prefixes). */
export const MAX_PATH_BYTES = 900;

/**
 * Why a path is refused, or null when it is valid. A file path must not end with a space:
 * storage-js puts keys into URLs unencoded and URL parsing drops trailing spaces, so such
 * a key would be reserved here and then signed, uploaded or read as another key (the
 * Storage server refuses the signing 403). Inside a path (`a /b`) a space is fine.
 */
export function pathProblem(path: string, kind: "file" | "folder" = "file"): string | null {
  if (typeof path !== "string") return "must be a string";
  const file = kind === "file";
  if (kind === "folder") {
    if (path === "") return null;
    if (!path.endsWith("/")) return 'must be "" or end with "/"';
    path = path.slice(0, -1);
  }
  if (path.length === 0) return "must not be empty";
  if (new TextEncoder().encode(path).length > MAX_PATH_BYTES) {
    return `must be at most ${MAX_PATH_BYTES} bytes`;
  }
  if (!STORAGE_KEY_CHARS.test(path) || path.includes("?")) {
    return "may contain only letters, digits, spaces and _/!.*'()&$=@;:+,-";
  }
  if (path.startsWith("/")) return 'must not start with "/"';
  if (path.endsWith("/")) return 'must not end with "/"';
  if (file && path.endsWith(" ")) return "must not end with a space";
  for (const segment of path.split("/")) {
    if (segment === "") return "must not contain empty segments (//)";
    if (segment === "." || segment === "..") return `must not contain "${segment}" segments`;
  }
  return null;
}

/**
 * Returns `path` when it is a valid home-relative file path.
 * @throws AppError 400 invalid_path
 * @example assertFilePath("course-1/notes.txt")
 */
export function assertFilePath(path: string): string {
  const problem = pathProblem(path, "file");
  if (problem) throw invalidPath(path, problem);
  return path;
}

/**
 * Returns `prefix` when it is a valid folder prefix: `""` (the home) or a path ending in `/`.
 * @throws AppError 400 invalid_path
 */
export function assertFolderPrefix(prefix: string): string {
  const problem = pathProblem(prefix, "folder");
  if (problem) throw invalidPath(prefix, problem);
  return prefix;
}

/**
 * Checks a list of file paths, reporting every bad one at once.
 * @throws AppError 400 invalid_path with `details.paths` = [{index, path, problem}]
 */
export function assertFilePaths(paths: string[]): string[] {
  const bad = paths.flatMap((path, index) => {
    const problem = pathProblem(path, "file");
    return problem ? [{ index, path, problem }] : [];
  });
  if (bad.length > 0) {
    throw new AppError(
      "invalid_path",
      `Send valid paths: "${bad[0].path}" ${bad[0].problem}` +
        (bad.length > 1 ? ` (and ${bad.length - 1} more)` : ""),
      { details: { paths: bad.slice(0, 100) } },
    );
  }
  return paths;
}

function invalidPath(path: string, problem: string): AppError {
  const shown = path.length > 80 ? `${path.slice(0, 80)}…` : path;
  return new AppError("invalid_path", `Send a valid path: "${shown}" ${problem}`, {
    details: { path: shown, problem },
  });
}
