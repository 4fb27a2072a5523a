"""An MCP client built with the official Python SDK (PyPI `mcp`) speaking 2026-07-28 (no
initialize handshake: `server/discover`, then self-contained requests), for the gateway's tool
tests. Reads {"url", "headers", "calls": [{"tool", "arguments"}]} on stdin; prints one JSON line
{"version", "tools": [names], "results": [{"isError", "text"}]} or {"error"} (exit 1).
"""
import asyncio
import json
import sys

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def main():
    spec = json.load(sys.stdin)
    async with create_mcp_http_client(headers=spec.get("headers", {})) as http:
        async with streamable_http_client(spec["url"], http_client=http) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                session.adopt(await session.discover())
                tools = await session.list_tools()
                results = []
                for call in spec.get("calls", []):
                    r = await session.call_tool(call["tool"], call.get("arguments", {}))
                    text = "".join(getattr(c, "text", "") for c in (r.content or []))
                    results.append({"isError": bool(getattr(r, "is_error", getattr(r, "isError", False))), "text": text})
                return {"version": session.protocol_version, "tools": [t.name for t in tools.tools], "results": results}


try:
    print(json.dumps(asyncio.run(main())))
except BaseException as e:  # noqa: BLE001 - report any failure as data
    print(json.dumps({"error": repr(e)}))
    sys.exit(1)
