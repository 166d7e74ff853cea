import assert from "node:assert/strict";
import { allowedContentType, chooseContentType, isMimeAllowed, mimeFromName } from "./mime.ts";

Deno.test("mimeFromName detects common types and falls back to octet-stream", () => {
  assert.equal(mimeFromName("a/b/take.MP3"), "audio/mpeg");
  assert.equal(mimeFromName("v1__x.tar.gz"), "application/gzip");
  assert.equal(mimeFromName("index.faiss"), "application/octet-stream");
  assert.equal(mimeFromName(".bashrc"), "application/octet-stream");
});

Deno.test("chooseContentType keeps a specific source type and replaces generic ones", () => {
  assert.equal(chooseContentType("a.bin", "audio/ogg"), "audio/ogg");
  assert.equal(chooseContentType("a.json", "binary/octet-stream"), "application/json");
  assert.equal(chooseContentType("a.json", undefined), "application/json");
});

Deno.test("isMimeAllowed matches exact types and type/* like Storage", () => {
  assert.equal(isMimeAllowed("audio/mpeg", null), true);
  assert.equal(isMimeAllowed("audio/mpeg", ["audio/*"]), true);
  assert.equal(isMimeAllowed("audio/mpeg", ["audio/wav"]), false);
  assert.equal(isMimeAllowed("text/plain;charset=UTF-8", ["text/plain"]), true);
});

Deno.test("allowedContentType switches to an allowed alias or refuses", () => {
  assert.equal(allowedContentType("audio/wav", ["audio/mpeg", "audio/x-wav"]), "audio/x-wav");
  assert.equal(allowedContentType("audio/wav", ["audio/wav"]), "audio/wav");
  assert.equal(allowedContentType("text/plain", ["audio/mpeg"]), null);
});
