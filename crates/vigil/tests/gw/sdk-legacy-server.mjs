// An MCP server on the official TypeScript SDK's legacy HTTP+SSE transport (protocol
// 2024-11-05: GET /sse opens the stream, whose `endpoint` event names
// /messages?sessionId=…, where the client POSTs), for the gateway tests. Prints {"port": N}.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import http from "node:http";

const transports = {};

const httpServer = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  if (req.method === "GET" && url.pathname === "/sse") {
    const transport = new SSEServerTransport("/messages", res);
    transports[transport.sessionId] = transport;
    res.on("close", () => delete transports[transport.sessionId]);
    await new McpServer({ name: "sdk-legacy", version: "1.0.0" }).connect(transport);
    return;
  }
  const transport = transports[url.searchParams.get("sessionId")];
  if (req.method === "POST" && url.pathname === "/messages" && transport) {
    await transport.handlePostMessage(req, res);
    return;
  }
  res.writeHead(404).end("no such session");
});

httpServer.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: httpServer.address().port }));
});
