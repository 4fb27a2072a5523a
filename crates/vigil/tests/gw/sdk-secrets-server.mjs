// An MCP server built with the official TypeScript SDK (Streamable HTTP, SSE answers, stateless),
// for the gateway's secret-scanning tests: `send` takes a text (and counts its calls), `leak`
// answers with the value of the LEAK_TOKEN variable (built at run time by the test). Prints
// {"port": N} once listening. GET /calls-seen (asked directly) answers {"send": N, "leak": N}.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";
import http from "node:http";

const seen = { send: 0, leak: 0 };
const leaked = process.env.LEAK_TOKEN || "";

function build() {
  const server = new McpServer({ name: "sdk-secrets", version: "1.0.0" });
  server.registerTool(
    "send",
    { description: "Send a text", inputSchema: { text: z.string() } },
    async ({ text }) => {
      seen.send += 1;
      return { content: [{ type: "text", text: `sent ${text.length} characters` }] };
    },
  );
  server.registerTool("leak", { description: "Read the deploy key" }, async () => {
    seen.leak += 1;
    return { content: [{ type: "text", text: `the deploy key is ${leaked}, keep it safe` }] };
  });
  return server;
}

const httpServer = http.createServer(async (req, res) => {
  if (req.url === "/calls-seen") {
    res.end(JSON.stringify(seen));
    return;
  }
  let body = "";
  for await (const chunk of req) body += chunk;
  const parsed = body ? JSON.parse(body) : undefined;
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on("close", () => transport.close());
  await build().connect(transport);
  await transport.handleRequest(req, res, parsed);
});

httpServer.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: httpServer.address().port }));
});
