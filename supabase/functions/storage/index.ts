/**
 * @module The storage function's entry (placeholder until the full app lands):
 * answers `GET /storage/health`.
 */
Deno.serve((req: Request) => {
  const url = new URL(req.url);
  if (req.method === "GET" && url.pathname === "/storage/health") {
    return Response.json({ status: "ok" });
  }
  return Response.json({ error: { code: "not_found", message: "Not found" } }, { status: 404 });
});
