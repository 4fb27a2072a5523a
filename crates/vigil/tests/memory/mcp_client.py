"""An MCP client built with the official Python SDK (PyPI `mcp`), for the memory tests.

Reads one JSON document on stdin:
  {"stdio": {"command": "...", "args": [...], "cwd": "..."}}  or  {"http": {"url": "...", "headers": {...}}}
  plus "calls": [{"tool": "memory_write", "arguments": {...}}, ...]
Prints one JSON line: {"tools": [...], "results": [{"isError": bool, "structured": ..., "text": ...}]}
or {"error": "..."} with exit code 1 when the session fails.
"""
import asyncio
import json
import sys

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def field(obj, *names):
    """The first of `names` the object has (the SDK's 2.x models are snake_case, 1.x camelCase)."""
    for n in names:
        if hasattr(obj, n):
            return getattr(obj, n)
    return None


async def drive(session, calls):
    await session.initialize()
    tools = await session.list_tools()
    results = []
    for call in calls:
        r = await session.call_tool(call["tool"], call.get("arguments", {}))
        text = "".join(getattr(c, "text", "") for c in (r.content or []))
        results.append({"isError": bool(field(r, "is_error", "isError")), "structured": field(r, "structured_content", "structuredContent"), "text": text})
    return {
        "tools": [{"name": t.name, "inputSchema": field(t, "input_schema", "inputSchema")} for t in tools.tools],
        "results": results,
    }


async def main():
    spec = json.load(sys.stdin)
    calls = spec.get("calls", [])
    if "stdio" in spec:
        s = spec["stdio"]
        params = StdioServerParameters(command=s["command"], args=s.get("args", []), cwd=s.get("cwd"), env=s.get("env"))
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                return await drive(session, calls)
    h = spec["http"]
    async with create_mcp_http_client(headers=h.get("headers", {})) as http:
        async with streamable_http_client(h["url"], http_client=http) as streams:
            read, write = streams[0], streams[1]
            async with ClientSession(read, write) as session:
                return await drive(session, calls)


try:
    print(json.dumps(asyncio.run(main())))
except BaseException as e:  # noqa: BLE001 - report any failure as data
    print(json.dumps({"error": repr(e)}))
    sys.exit(1)
