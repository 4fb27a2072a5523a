// An MCP client built with the official TypeScript SDK (npm @modelcontextprotocol/sdk), for the
// memory tests and bench/memory.sh. Reads one JSON document on stdin:
//   {"stdio": {"command", "args", "cwd"}} or {"http": {"url", "headers"}}, plus "calls": [{tool, arguments}]
//   and optionally "bench": {"seconds": N, "size": BYTES, "write": TOOL, "read": TOOL, "dir": PREFIX}
// Prints one JSON line: {"tools": [...], "results": [...]} (or the benchmark's figures); exits 1
// with {"error": ...} when the session fails.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const spec = JSON.parse(input);

const transport = spec.stdio
  ? new StdioClientTransport({ command: spec.stdio.command, args: spec.stdio.args ?? [], cwd: spec.stdio.cwd, stderr: "inherit" })
  : new StreamableHTTPClientTransport(new URL(spec.http.url), {
      requestInit: { headers: spec.http.headers ?? {} },
    });
const client = new Client({ name: "vigil-memory-test", version: "1.0.0" });

async function bench(b) {
  const body = "x".repeat(b.size - 1) + "\n";
  const deadline = Date.now() + b.seconds * 1000;
  let pairs = 0;
  const t0 = process.hrtime.bigint();
  while (Date.now() < deadline) {
    const path = `${b.dir}${pairs % 100}.md`;
    const w = await client.callTool({ name: b.write, arguments: { path, content: body } });
    if (w.isError) throw new Error(`write failed: ${JSON.stringify(w.content)}`);
    const r = await client.callTool({ name: b.read, arguments: { path } });
    if (r.isError) throw new Error(`read failed: ${JSON.stringify(r.content)}`);
    const text = r.structuredContent?.content ?? r.content?.[0]?.text ?? "";
    if (!text.includes("xxxx")) throw new Error("read returned other content");
    pairs += 1;
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return { pairs, seconds: secs, requests_per_second: (2 * pairs) / secs };
}

try {
  await client.connect(transport);
  const tools = await client.listTools();
  const out = { tools: tools.tools.map((t) => ({ name: t.name, inputSchema: t.inputSchema })) };
  if (spec.bench) {
    out.bench = await bench(spec.bench);
  } else {
    out.results = [];
    for (const call of spec.calls ?? []) {
      const r = await client.callTool({ name: call.tool, arguments: call.arguments ?? {} });
      const text = (r.content ?? []).map((c) => c.text ?? "").join("");
      out.results.push({ isError: Boolean(r.isError), structured: r.structuredContent ?? null, text });
    }
  }
  if (transport.terminateSession) await transport.terminateSession().catch(() => {});
  await client.close();
  console.log(JSON.stringify(out));
} catch (e) {
  console.log(JSON.stringify({ error: String(e && e.message ? e.message : e) }));
  process.exit(1);
}
