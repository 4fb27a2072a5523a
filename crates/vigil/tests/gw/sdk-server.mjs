// An MCP server built with the official TypeScript SDK (Streamable HTTP, SSE answers), for the
// gateway tests. Prints {"port": N} once listening. GET /authorization-seen (asked directly, not
// through the gateway) answers how many requests arrived with an Authorization header.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";
import http from "node:http";
import { randomUUID } from "node:crypto";

const transports = {};
let authorizationSeen = 0;

function build() {
  const server = new McpServer({ name: "sdk-upstream", version: "1.0.0" });
  server.registerTool(
    "add",
    { description: "Add two numbers", inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }, extra) => {
      const token = extra?._meta?.progressToken;
      if (token !== undefined) {
        await extra.sendNotification({
          method: "notifications/progress",
          params: { progressToken: token, progress: 1, total: 2 },
        });
      }
      return { content: [{ type: "text", text: String(a + b) }] };
    },
  );
  return server;
}

const httpServer = http.createServer(async (req, res) => {
  if (req.url === "/authorization-seen") {
    res.end(JSON.stringify({ count: authorizationSeen }));
    return;
  }
  if (req.headers.authorization) authorizationSeen += 1;
  let body = "";
  for await (const chunk of req) body += chunk;
  const parsed = body ? JSON.parse(body) : undefined;
  const sid = req.headers["mcp-session-id"];
  let transport = sid ? transports[sid] : undefined;
  if (!transport) {
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        transports[id] = transport;
      },
    });
    await build().connect(transport);
  }
  await transport.handleRequest(req, res, parsed);
});

httpServer.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: httpServer.address().port }));
});
