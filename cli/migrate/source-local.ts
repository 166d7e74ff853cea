/**
 * @module A local directory as a migration source.
 */
import { join, relative, resolve, sep as SEPARATOR } from "node:path";
import type { SourceObject } from "./planner.ts";
import type { OpenedObject, Source } from "./source.ts";
import { CliError } from "../lib/errors.ts";

/** Reads every regular file below `root`; keys are `/`-separated paths relative to it. */
export class LocalSource implements Source {
  readonly description: string;
  readonly deletable = true;
  readonly #root: string;

  /** @param root directory to migrate (made absolute) */
  constructor(root: string) {
    this.#root = resolve(root);
    this.description = this.#root;
  }

  /** Checks that the root is a readable directory. */
  async check(): Promise<void> {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(this.#root);
    } catch (error) {
      throw new CliError("source_unavailable", `Cannot read source directory "${this.#root}"`, {
        cause: error,
      });
    }
    if (!info.isDirectory) {
      throw new CliError("source_unavailable", `Source "${this.#root}" is not a directory`);
    }
  }

  async *list(): AsyncIterable<SourceObject> {
    const stack = [this.#root];
    while (stack.length > 0) {
      const dir = stack.pop()!;
      for await (const entry of Deno.readDir(dir)) {
        const path = join(dir, entry.name);
        // Symlinks are not followed: a link to a parent would loop, a link outside the root is not ours.
        if (entry.isDirectory) stack.push(path);
        if (!entry.isFile) continue;
        const info = await Deno.stat(path);
        yield {
          key: relative(this.#root, path).split(SEPARATOR).join("/"),
          size: info.size,
          stamp: `${info.mtime?.getTime() ?? 0}:${info.size}`,
        };
      }
    }
  }

  async open(key: string): Promise<OpenedObject> {
    const file = await Deno.open(this.#path(key), { read: true });
    return { body: file.readable };
  }

  async remove(key: string): Promise<void> {
    await Deno.remove(this.#path(key));
  }

  close(): void {}

  #path(key: string): string {
    const path = resolve(this.#root, ...key.split("/"));
    if (!path.startsWith(this.#root + SEPARATOR)) {
      throw new Error(`Key "${key}" leaves the source directory`);
    }
    return path;
  }
}
