"""An MCP server built with the official Python SDK (PyPI `mcp`), for the gateway's tool-security
tests: `read_file` and `delete_file` over Streamable HTTP at /mcp (every protocol version the SDK
serves, 2026-07-28 included). Prints {"port": N} once listening. GET /log (asked directly, not
through the gateway) answers the JSON-RPC requests that arrived ({method, tool, version}).
"""
import asyncio
import json
import socket
import sys

import uvicorn
from mcp.server.mcpserver import MCPServer

LOG = []
server = MCPServer("tools-upstream-py")


@server.tool(description="Read a file under /srv")
def read_file(path: str) -> str:
    return f"contents of {path}"


@server.tool(description="Delete a file under /srv")
def delete_file(path: str) -> str:
    return f"deleted {path}"


inner = server.streamable_http_app()


def note(body, version):
    try:
        msgs = json.loads(body)
    except ValueError:
        return
    for m in msgs if isinstance(msgs, list) else [msgs]:
        if isinstance(m, dict) and "method" in m:
            LOG.append({"method": m["method"], "tool": (m.get("params") or {}).get("name"), "version": version})


async def app(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == "/log":
        body = json.dumps(LOG).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})
        return
    if scope["type"] == "http" and scope["method"] == "POST":
        chunks = []
        version = dict(scope["headers"]).get(b"mcp-protocol-version", b"").decode()

        async def rx():
            m = await receive()
            if m["type"] == "http.request":
                chunks.append(m.get("body", b""))
                if not m.get("more_body"):
                    note(b"".join(chunks), version)
            return m

        return await inner(scope, rx, send)
    return await inner(scope, receive, send)


async def main():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(json.dumps({"port": sock.getsockname()[1]}), flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve(sockets=[sock])


asyncio.run(main())
