import assert from "node:assert/strict";
import { AppError } from "./app-error.ts";
import { assertFilePath, assertFilePaths, assertFolderPrefix, pathProblem } from "./paths.ts";

Deno.test("valid file paths pass, including the whole Storage key character set", () => {
  for (
    const path of [
      "a.txt",
      "course-1/lesson 2/notes (v2).json",
      "p/generations/v10__abc.tar.gz",
      "x/!*'()&$=@;:+,-_.y",
      "no-extension",
      "folder.with.dots/file",
    ]
  ) assert.equal(assertFilePath(path), path);
});

Deno.test("file paths with traversal, empty segments, slashes or odd characters are invalid_path", () => {
  for (
    const path of [
      "",
      "/a",
      "a/",
      "a//b",
      "../b",
      "a/../b",
      "./a",
      "a/.",
      "..",
      "é.txt",
      "a#b",
      "a%20b",
      "a\\b",
      "a~b",
      "a?b",
      "a\nb",
      "a\u0000b",
      '"q"',
      "[x]",
      "x".repeat(901),
    ]
  ) {
    assert.throws(
      () => assertFilePath(path),
      (e: unknown) => e instanceof AppError && e.code === "invalid_path" && e.status === 400,
      JSON.stringify(path),
    );
  }
});

Deno.test("a file path ending in a space is invalid_path (a URL would drop the space); inside a path a space is fine", () => {
  for (const path of ["a.txt ", "a/b ", " ", "a /b  "]) {
    assert.throws(
      () => assertFilePath(path),
      (e: unknown) =>
        e instanceof AppError && e.code === "invalid_path" && /end with a space/.test(e.message),
      JSON.stringify(path),
    );
  }
  for (const path of ["a /b", " a", "a b.txt", "a / b"]) assert.equal(assertFilePath(path), path);
  assert.equal(assertFolderPrefix("a /"), "a /", "a folder whose name ends in a space holds files");
});

Deno.test("folder prefixes are empty or end with one slash", () => {
  assert.equal(assertFolderPrefix(""), "");
  assert.equal(assertFolderPrefix("a/b/"), "a/b/");
  for (const prefix of ["a", "/", "a//", "/a/", "../", "a/../", "é/"]) {
    assert.throws(() => assertFolderPrefix(prefix), AppError, prefix);
  }
});

Deno.test("assertFilePaths reports every bad path with its index", () => {
  assert.deepEqual(assertFilePaths(["a", "b/c"]), ["a", "b/c"]);
  try {
    assertFilePaths(["ok", "../x", "y/", "fine"]);
    assert.fail("expected invalid_path");
  } catch (e) {
    assert.ok(e instanceof AppError);
    const details = e.details as { paths: { index: number }[] };
    assert.deepEqual(details.paths.map((p) => p.index), [1, 2]);
  }
  assert.equal(pathProblem("a/b", "file"), null);
});
