/**
 * @module Entry of the storage Edge Function: reads the environment once and serves the app.
 */
import { createStorageApp } from "./app.ts";
import { createRuntime } from "./context.ts";

Deno.serve(createStorageApp(createRuntime(Deno.env.toObject())).fetch);
