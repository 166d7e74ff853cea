/**
 * @module CORS for browser callers: any origin (the functions authenticate by
 * bearer token, never by cookie), the headers supabase-js sends, preflights
 * answered without authentication.
 */
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";

/** Headers a browser may send: supabase-js's and ours. */
export const CORS_ALLOW_HEADERS = [
  "authorization",
  "x-client-info",
  "apikey",
  "content-type",
  "x-webhook-secret",
  "x-upsert",
];

/** The CORS middleware of every function app. */
export function corsMiddleware(): MiddlewareHandler {
  return cors({
    origin: "*",
    allowHeaders: CORS_ALLOW_HEADERS,
    allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    maxAge: 86_400,
  });
}
