// An MCP client built with the official TypeScript SDK: initialize, tools/list, tools/call (with
// a progress token, so the answer streams), then DELETE the session. Prints one JSON line; exits
// 1 with {"error": ...} when anything fails. Usage: node sdk-client.mjs URL TOKEN
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, token] = process.argv.slice(2);
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "sdk-client", version: "1.0.0" });
try {
  await client.connect(transport);
  const tools = await client.listTools();
  const progress = [];
  const result = await client.callTool({ name: "add", arguments: { a: 2, b: 40 } }, undefined, {
    onprogress: (p) => progress.push(p.progress),
  });
  const session = transport.sessionId;
  await transport.terminateSession();
  await client.close();
  console.log(JSON.stringify({ tools: tools.tools.map((t) => t.name), result, progress, session }));
} catch (e) {
  console.log(JSON.stringify({ error: String(e && e.message ? e.message : e) }));
  process.exit(1);
}
