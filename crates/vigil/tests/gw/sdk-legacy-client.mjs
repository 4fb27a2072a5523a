// An MCP client on the official TypeScript SDK's legacy HTTP+SSE transport (SSEClientTransport):
// GET the stream URL, POST to the endpoint its `endpoint` event names (resolved against the
// stream's URL, as the SDK does), initialize and ping. Prints one JSON line; exits 1 with
// {"error": ...} when anything fails. Usage: node sdk-legacy-client.mjs URL TOKEN
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";

const [url, token] = process.argv.slice(2);
const transport = new SSEClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "sdk-legacy-client", version: "1.0.0" });
try {
  await client.connect(transport);
  await client.ping();
  const server = client.getServerVersion();
  await client.close();
  console.log(JSON.stringify({ server: server.name }));
} catch (e) {
  console.log(JSON.stringify({ error: String(e && e.message ? e.message : e) }));
  process.exit(1);
}
