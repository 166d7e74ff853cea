/**
 * @module Baseline for `bench/migrate.ts`: the seeds' way to migrate a folder, a plain
 * sequential supabase-js loop that reads each file whole and uploads it.
 * Usage: deno run -A bench/migrate-baseline.ts <dir> <bucket>  (credentials as the CLI's)
 */
import { createClient } from "@supabase/supabase-js";
import { resolveConnection } from "../cli/lib/connection.ts";
import { mimeFromName } from "../cli/migrate/mime.ts";
import { LocalSource } from "../cli/migrate/source-local.ts";

const [dir, bucket] = Deno.args;
const conn = await resolveConnection(Deno.env.toObject());
const storage = createClient(conn.url, conn.secretKey, { auth: { persistSession: false } })
  .storage.from(bucket);
let n = 0;
for await (const o of new LocalSource(dir).list()) {
  const data = await Deno.readFile(`${dir}/${o.key}`);
  const { error } = await storage.upload(o.key, data, { contentType: mimeFromName(o.key) });
  if (error) throw new Error(`Cannot upload "${o.key}": ${error.message}`);
  n++;
}
console.log(JSON.stringify({ uploaded: n }));
