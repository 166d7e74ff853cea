/**
 * @module An S3 bucket (any S3-compatible endpoint) as a migration source.
 * Credentials come from the AWS SDK's usual chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, ...).
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import type { SourceObject } from "./planner.ts";
import {
  type OpenedObject,
  type S3Location,
  type Source,
  SourceRefusal,
  unsafeKeyProblem,
} from "./source.ts";
import { CliError } from "../lib/errors.ts";
import { mapPool } from "./pool.ts";

/** Connection options for {@link S3Source}. */
export interface S3Options {
  endpoint?: string;
  region?: string;
  pathStyle?: boolean;
  /** Parallel HEAD requests while listing (content types). */
  headConcurrency?: number;
}

/** Lists and reads objects below an `s3://bucket/prefix/`. */
export class S3Source implements Source {
  readonly description: string;
  readonly deletable = false;
  readonly #client: S3Client;
  readonly #loc: S3Location;
  readonly #headConcurrency: number;

  constructor(loc: S3Location, options: S3Options = {}) {
    this.#loc = loc;
    this.description = `s3://${loc.bucket}/${loc.prefix}`;
    this.#headConcurrency = options.headConcurrency ?? 16;
    this.#client = new S3Client({
      endpoint: options.endpoint,
      region: options.region ?? Deno.env.get("AWS_REGION") ?? "us-east-1",
      forcePathStyle: options.pathStyle ?? false,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  /**
   * Lists every object (ListObjectsV2, all pages). Listings carry no content type: with
   * `contentTypes` each object is HEADed for it (the plan checks it against a bucket's MIME
   * rules); otherwise the type comes with the GET at copy time.
   */
  async *list(options: { contentTypes?: boolean } = {}): AsyncIterable<SourceObject> {
    let token: string | undefined;
    do {
      const page = await this.#call("list", () =>
        this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.#loc.bucket,
            Prefix: this.#loc.prefix || undefined,
            ContinuationToken: token,
          }),
        ));
      const contents = (page.Contents ?? []).filter((o) =>
        o.Key !== undefined && o.Key !== this.#loc.prefix
      );
      const objects = await mapPool(contents, this.#headConcurrency, async (o) => {
        const key = o.Key!;
        const etag = (o.ETag ?? "").replaceAll('"', "");
        const problem = this.#problem(key, o.Size ?? 0);
        if (problem !== null) {
          // Never HEADed nor fetched: the server could answer for another key.
          return {
            key: key.startsWith(this.#loc.prefix) ? key.slice(this.#loc.prefix.length) : key,
            size: o.Size ?? 0,
            stamp: etag,
            refusal: { code: "unsafe_source_key", message: `S3 key "${key}" ${problem}` },
          };
        }
        const head = key.endsWith("/") || !options.contentTypes
          ? undefined
          : await this.#call(`head "${key}"`, () =>
            this.#client.send(new HeadObjectCommand({ Bucket: this.#loc.bucket, Key: key })));
        const obj: SourceObject = {
          key: key.slice(this.#loc.prefix.length),
          size: o.Size ?? 0,
          stamp: etag,
        };
        if (/^[0-9a-f]{32}$/.test(etag)) obj.md5 = etag;
        if (head?.ContentType) obj.contentType = head.ContentType;
        return obj;
      });
      yield* objects;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async open(key: string): Promise<OpenedObject> {
    const problem = unsafeKeyProblem(key);
    if (problem !== null) {
      throw new SourceRefusal("unsafe_source_key", `Cannot fetch S3 key "${key}": it ${problem}`);
    }
    const out = await this.#call(
      `get "${key}"`,
      () =>
        this.#client.send(
          new GetObjectCommand({ Bucket: this.#loc.bucket, Key: this.#loc.prefix + key }),
        ),
    );
    if (!out.Body) throw new CliError("source_unavailable", `S3 returned no body for "${key}"`);
    const body = out.Body.transformToWebStream() as ReadableStream<Uint8Array>;
    return out.ContentType ? { body, contentType: out.ContentType } : { body };
  }

  remove(key: string): Promise<void> {
    return Promise.reject(
      new CliError(
        "invalid_usage",
        `Cannot delete "${key}": --delete-after works on local sources only`,
      ),
    );
  }

  close(): void {
    this.#client.destroy();
  }

  /**
   * Why a listed key must not be fetched: outside the prefix, or an empty, `.` or `..`
   * segment (a folder marker's one trailing `/` aside). Null when it may be.
   */
  #problem(key: string, size: number): string | null {
    if (!key.startsWith(this.#loc.prefix)) return `is outside the prefix "${this.#loc.prefix}"`;
    const relative = key.slice(this.#loc.prefix.length);
    return unsafeKeyProblem(
      size === 0 && relative.endsWith("/") ? relative.slice(0, -1) : relative,
    );
  }

  async #call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      const name = error instanceof Error ? error.name : "Error";
      throw new CliError("source_unavailable", `Cannot ${what} in ${this.description}: ${name}`, {
        cause: error,
      });
    }
  }
}
