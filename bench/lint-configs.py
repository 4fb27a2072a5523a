#!/usr/bin/env python3
"""Generates the `vigil lint` bench corpus: 10,000 configuration files (about 40 MB) of every
kind lint reads, one project folder each, with a few planted problems. Token-like values are
drawn at run time; nothing secret-looking is stored in the repository."""
import datetime, json, os, random, sys

# Reviewed today: a date in the future is itself a finding (lint reports it), and an old one is overdue.
TODAY = datetime.date.today().isoformat()

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
rnd = random.Random(19)
alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
tok = lambda k: "".join(rnd.choice(alnum) for _ in range(k))

def servers(k):
    s = {}
    for i in range(k):
        kind = i % 4
        if kind == 0:
            s[f"fs{i}"] = {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem@2025.8.21", f"/srv/p{i}/data", f"/srv/p{i}/docs"], "env": {"LOG_LEVEL": "info"}}
        elif kind == 1:
            s[f"api{i}"] = {"type": "http", "url": f"https://mcp{i}.example.com/mcp", "headers": {"Authorization": "Bearer ${API_KEY_%d}" % i, "X-Request-Source": "voice-lab"}}
        elif kind == 2:
            s[f"gh{i}"] = {"command": "docker", "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server:v0.13.0"], "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${GITHUB_TOKEN}"}}
        else:
            s[f"fetch{i}"] = {"command": "uvx", "args": ["mcp-server-fetch==2025.4.7", "--user-agent", "voice-lab/1.0"], "env": {"HTTP_PROXY": "http://127.0.0.1:3128"}}
    return s

def tools(k):
    return [{"name": f"tool_{j}", "title": f"Tool {j}", "description": "Looks up records in the catalogue and returns them as a list, newest first. " * 3,
             "inputSchema": {"type": "object", "properties": {"q": {"type": "string", "maxLength": 200}, "limit": {"type": "integer", "minimum": 1, "maximum": 50}}, "required": ["q"], "additionalProperties": False},
             "annotations": {"readOnlyHint": True, "destructiveHint": False}} for j in range(k)]

def compose(i):
    lines = ["services:"]
    for j in range(12):
        lines += [f"  svc{j}:", f"    image: ghcr.io/acme/svc{j}:1.{j}.0", "    env_file: .env", "    environment:", "      LOG_LEVEL: info",
                  f"      UPSTREAM_URL: http://svc{(j + 1) % 12}:8080", "    ports:", f"      - \"127.0.0.1:{8000 + j}:8080\"", "    volumes:", f"      - ./data/svc{j}:/data:ro",
                  "    restart: unless-stopped", "    healthcheck:", "      test: [\"CMD\", \"wget\", \"-qO-\", \"http://localhost:8080/healthz\"]", "      interval: 30s"]
    if i % 50 == 0:
        lines += ["  redis:", "    image: redis", "    ports:", "      - \"6379:6379\""]
    return "\n".join(lines) + "\n"

total = 0
for i in range(n):
    d = os.path.join(out, f"p{i:05d}")
    kind = i % 10
    if kind in (0, 1, 2, 3):
        rel, doc = ".mcp.json", {"mcpServers": servers(14)}
        if i % 100 == 0:
            doc["mcpServers"]["leak"] = {"command": "node", "args": ["s.js"], "env": {"SERVICE_API_KEY": tok(40)}}
        text = json.dumps(doc, indent=2)
    elif kind == 4:
        rel, text = ".vscode/mcp.json", "// project servers\n" + json.dumps({"inputs": [{"type": "promptString", "id": "k", "description": "API key", "password": True}], "servers": servers(14)}, indent=2)
    elif kind == 5:
        rel, text = "docker-compose.yml", compose(i)
    elif kind == 6:
        rel = "voice-manifest.json"
        text = json.dumps({"name": f"app{i}", "mcp": {"servers": {"backend": {"url": "https://api.example.com/mcp", "headers": {"Authorization": "Bearer ${API_KEY}"}, "tools": tools(6)}}},
                           "privacy": {"data_retention": "30 days", "recording_consent": True, "pii_handling": "encrypt", "privacy_policy": "https://example.com/privacy"},
                           "security": {"last_reviewed": TODAY}}, indent=2)
    elif kind == 7:
        rel, text = "tools.json", json.dumps({"server": f"s{i}", "tools": tools(8)}, indent=2)
    elif kind == 8:
        rel = ".continue/config.yaml"
        text = "name: a\nversion: 0.0.1\nschema: v1\nmcpServers:\n" + "".join(
            f"  - name: s{j}\n    command: npx\n    args: [\"-y\", \"mcp-sqlite@1.0.7\", \"/srv/db{j}.db\"]\n    env:\n      TOKEN: ${{{{ secrets.T{j} }}}}\n      LOG_LEVEL: info\n" for j in range(20))
    else:
        rel = ".codex/config.toml"
        text = "".join(f"[mcp_servers.s{j}]\ncommand = \"npx\"\nargs = [\"-y\", \"mcp-server-docs@1.2.0\", \"--root\", \"/srv/docs{j}\"]\nenv = {{ DOCS_API_KEY = \"${{DOCS_API_KEY}}\", LOG_LEVEL = \"info\" }}\n\n" for j in range(18))
    p = os.path.join(d, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(text)
    total += len(text.encode())
print(f"{n} files, {total / 1e6:.1f} MB")
