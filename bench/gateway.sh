#!/usr/bin/env bash
# Requests/s and p50/p99 latency on loopback, in one run, with wrk (Debian package): straight to
# an upstream, through nginx as a plain reverse proxy (access log written per request, nginx's
# default, and buffered as Vigil buffers its own), through nginx doing the comparable work
# (`limit_req` per IP and a buffered access log), through `vigil gateway` with JWT verification
# and per-IP rate limiting on ("vigil": every `[gateway.scan]` and `[gateway.audit]` feature
# off), then one Vigil row per feature switched on alone (vigil_scan_args, vigil_scan_results,
# vigil_audit, vigil_scopes: a per-tool scope rule, vigil_validation: argument validation
# against the tool's inputSchema, vigil_pins: the tool pinned and approved, and any
# BENCH_FEATURES slot, see below), all of them at once (vigil_all), and
# IBM ContextForge (PyPI mcp-contextforge-gateway, JWT on, installed into a venv under target/)
# in front of an MCP server. A row hyper_floor is the least any gateway built on hyper pays: hyper's
# server and client and nothing else (crates/vigil-gateway/examples/floor.rs, built here unless
# VIGIL_BIN is given; FLOOR_BIN names another build); hyper_checked is that floor plus only the
# checks every plain Vigil request passes (examples/floor_checked.rs: a per-IP limit, the bearer
# token verified once then found in a set, the strict JSON-RPC reading, a buffered access log),
# a lower bound for any hyper gateway that checks MCP requests. Every request is the same MCP `tools/call` JSON-RPC POST carrying a
# bearer token (nginx ignores it; Vigil and ContextForge verify it).
#
#   BENCH_FEATURES="mine"                    # more feature rows, each from three variables:
#     FEATURE_mine_ROUTE='[[gateway.routes.tools]]...'  (TOML added to the route)
#     FEATURE_mine_GATEWAY='[gateway.validation]...'    (TOML added after the routes)
#     FEATURE_mine_TOKEN="--claim scope=fs:read"              (extra `vigil token mint` flags)
#   Each becomes a row vigil_<name> and is also switched on in vigil_all.
#   BENCH_CONTEXTFORGE=0                     # leave the ContextForge row out
#
#   bench/gateway.sh                         # 10 s per run, 3 interleaved rounds, wrk -t1 -c32
#   BENCH_SECONDS=20 BENCH_ROUNDS=5 BENCH_CONNECTIONS=64 bench/gateway.sh
#   VIGIL_BIN=/tmp/vigil-before BENCH_TARGETS="nginx vigil" bench/gateway.sh   # another build
#   VIGIL_BASE_BIN=/tmp/gw-before/target/release/vigil BENCH_TARGETS="vigil_base vigil" \
#     BENCH_ROUNDS=9 bench/gateway.sh        # A/B two builds in one run, rounds interleaved
#   (with VIGIL_BASE_BIN every feature row runs on the base build too, as vigil_base_<feature>,
#   compared with vigil_base: e.g. BENCH_TARGETS="vigil_base vigil vigil_base_audit vigil_audit")
#   BENCH_INSTRUCTIONS=1 BENCH_CONNECTIONS=4 BENCH_TARGETS="vigil vigil_scan_results" bench/gateway.sh
#                                            # each Vigil under valgrind's callgrind: the last
#   column is then the instructions the gateway ran per request (counters zeroed before each
#   wrk run, dumped after it), steady on a machine whose CPU time per request is not (a shared
#   VM without hardware counters); it counts no kernel work, and wrk's rates mean nothing then.
#
# The upstream is nginx answering a fixed JSON body (2 workers); each proxy nginx has 2 workers
# and an upstream keepalive pool; Vigil runs with its default 2 worker threads on this machine.
# Every proxy writes its access log to a file. Rounds interleave the targets so a slow minute on
# a shared machine hits all of them alike, and each round starts one target later than the last
# (a row late in every round ran slower than its place-mates on this 2-core host: session 23);
# the table shows each column's median over the rounds
# (requests/s, p50, p99 and CPU each on its own, so one bad round moves none of them), and the
# CPU time the proxy's own processes spent per request.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
secs=${BENCH_SECONDS:-10}
rounds=${BENCH_ROUNDS:-3}
if [ -n "${BENCH_INSTRUCTIONS:-}" ]; then
  command -v valgrind >/dev/null || { apt-get update -q && apt-get install -y -q valgrind; }
  BENCH_WRAP="valgrind -q --tool=callgrind --callgrind-out-file=callgrind.out.%p"
fi
conns=${BENCH_CONNECTIONS:-32}
work=${BENCH_DIR:-$root/target/bench/gateway}
rm -rf "$work" && mkdir -p "$work"

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then apt-get update -q && apt-get install -y -q "${need[@]}"; fi
nginx=$(command -v nginx || echo /usr/sbin/nginx)
if [ -z "${VIGIL_BIN:-}" ]; then cargo build --release -q -p vigil; fi
vigil=${VIGIL_BIN:-$root/target/release/vigil}
# The floor: hyper's server and client and nothing else (crates/vigil-gateway/examples/floor.rs).
# And hyper_checked: the floor plus only the checks every plain Vigil request passes (a per-IP
# limit, a cached bearer token, the strict JSON-RPC reading, a buffered access log;
# crates/vigil-gateway/examples/floor_checked.rs), built beside it.
if [ -z "${FLOOR_BIN:-}" ] && [ -z "${VIGIL_BIN:-}" ]; then cargo build --release -q -p vigil-gateway --example floor --example floor_checked; fi
floor=${FLOOR_BIN:-$root/target/release/examples/floor}
floor_checked=${FLOOR_CHECKED_BIN:-$(dirname "$floor")/floor_checked}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up_port=$(free_port); ngx_port=$(free_port); ngxb_port=$(free_port); gw_port=$(free_port)

nginx_conf() { # NAME BODY [ACCESS_LOG_OPTIONS]
  mkdir -p "$work/$1"
  cat >"$work/$1/nginx.conf" <<EOF
worker_processes 2;
pid $work/$1/nginx.pid;
error_log $work/$1/error.log warn;
events { worker_connections 4096; }
http {
  access_log $work/$1/access.log${3:+ $3};
  client_body_temp_path $work/$1/body;
  proxy_temp_path $work/$1/proxy;
  fastcgi_temp_path $work/$1/fastcgi;
  uwsgi_temp_path $work/$1/uwsgi;
  scgi_temp_path $work/$1/scgi;
  keepalive_requests 1000000;
$2
}
EOF
}
# The upstream answers every request with a tool result: a README's first lines (~300 bytes).
text='# Vigil\\nThe security plane for AI-agent, bot and MCP-server stacks: find leaked secrets, rotate them safely, mint and check tokens, guard MCP servers behind an authenticating gateway, lint manifests and MCP configs.'
result='{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"'"$text"'\"}],\"isError\":false}}'
# The gateway's own tool-list fetch (rows with validation or pins) is told apart by its
# `X-Vigil-Subject: vigil-gateway`: its `initialize` is refused, so it asks sessionless
# (2026-07-28), and that `tools/list` (id 2) gets read_file with a schema the calls satisfy.
tools='{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":[{\"name\":\"read_file\",\"description\":\"Read a file\",\"inputSchema\":{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\",\"maxLength\":4096}},\"required\":[\"path\"],\"additionalProperties\":false}}]}}'
nginx_conf upstream "
  map \"\$http_x_vigil_subject:\$http_mcp_protocol_version\" \$fetch {
    default \"\";
    \"vigil-gateway:2026-07-28\" list;
    \"~^vigil-gateway:\" init;
  }
  server {
    listen 127.0.0.1:$up_port;
    access_log off;
    location / {
      default_type application/json;
      if (\$fetch = init) { return 404; }
      if (\$fetch = list) { return 200 '$tools'; }
      return 200 '$result';
    }
  }"
proxy_conf() { # NAME PORT [ACCESS_LOG_OPTIONS] [HTTP_EXTRA] [LOCATION_EXTRA]
  nginx_conf "$1" "
  upstream mcp { server 127.0.0.1:$up_port; keepalive 64; }
  ${4:-}
  server {
    listen 127.0.0.1:$2;
    location /mcp/filesystem/ {
      ${5:-}
      proxy_pass http://mcp/;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_set_header Authorization \"\";
    }
  }" "${3:-}"
}
proxy_conf proxy "$ngx_port"
# The same proxy with its access log buffered as Vigil buffers its own (32 KiB, 100 ms).
proxy_conf proxybuf "$ngxb_port" "combined buffer=32k flush=100ms"
# The comparable work: a per-IP request limit (never reached) and the buffered access log.
ngxl_port=$(free_port)
proxy_conf proxylimit "$ngxl_port" "combined buffer=32k flush=100ms" \
  "limit_req_zone \$binary_remote_addr zone=perip:10m rate=1000000r/s;" \
  "limit_req zone=perip burst=1000000 nodelay;"
cleanup() {
  for n in upstream proxy proxybuf proxylimit; do [ -f "$work/$n/nginx.pid" ] && kill "$(cat "$work/$n/nginx.pid")" 2>/dev/null || true; done
  [ -n "${gw_pid:-}" ] && kill "$gw_pid" 2>/dev/null || true
  [ -n "${floor_pid:-}" ] && kill "$floor_pid" 2>/dev/null || true
  [ -n "${checked_pid:-}" ] && kill "$checked_pid" 2>/dev/null || true
  [ -n "${gwb_pid:-}" ] && kill "$gwb_pid" 2>/dev/null || true
  for p in "${feature_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${cf_pid:-}" ] && kill "$cf_pid" 2>/dev/null || true
  [ -n "${cfup_pid:-}" ] && kill "$cfup_pid" 2>/dev/null || true
}
declare -a feature_pids=()
trap cleanup EXIT
"$nginx" -c "$work/upstream/nginx.conf" -e "$work/upstream/error.log" 2>/dev/null || "$nginx" -c "$work/upstream/nginx.conf"
for n in proxy proxybuf proxylimit; do
  "$nginx" -c "$work/$n/nginx.conf" -e "$work/$n/error.log" 2>/dev/null || "$nginx" -c "$work/$n/nginx.conf"
done

mkdir -p "$work/vigil"
declare -A pid_of=()
cat >"$work/vigil/vigil.toml" <<EOF
[gateway]
listen = "127.0.0.1:$gw_port"

[[gateway.routes]]
path = "/mcp/filesystem"
upstream = "http://127.0.0.1:$up_port"
audience = "filesystem"

[gateway.rate_limit]
per_ip = "100000000/minute"

[gateway.scan]
arguments = "off"
results = "off"
EOF
MCP_JWT_SECRET=$(openssl rand -base64 32)
export MCP_JWT_SECRET
(cd "$work/vigil" && exec ${BENCH_WRAP:-} "$vigil" ${VIGIL_FLAGS:-} gateway ${GATEWAY_FLAGS:-} 2>"$work/vigil/access.log") &
gw_pid=$!
floor_port=$(free_port)
if [ -x "$floor" ]; then
  mkdir -p "$work/hyper_floor"
  (cd "$work/hyper_floor" && exec ${BENCH_WRAP:-} "$floor" "127.0.0.1:$floor_port" "127.0.0.1:$up_port" 2) &
  floor_pid=$!
fi
checked_port=$(free_port)
if [ -x "$floor_checked" ]; then
  mkdir -p "$work/hyper_checked"
  (cd "$work/hyper_checked" && exec ${BENCH_WRAP:-} "$floor_checked" "127.0.0.1:$checked_port" "127.0.0.1:$up_port" 2 access.log) &
  checked_pid=$!
fi
# A second build (the "before" of an A/B), same configuration on its own port.
base=${VIGIL_BASE_BIN:-}
gwb_port=
if [ -n "$base" ]; then
  gwb_port=$(free_port)
  mkdir -p "$work/vigil_base"
  sed "s/127.0.0.1:$gw_port/127.0.0.1:$gwb_port/" "$work/vigil/vigil.toml" >"$work/vigil_base/vigil.toml"
  (cd "$work/vigil_base" && exec ${BENCH_WRAP:-} "$base" ${VIGIL_FLAGS:-} gateway ${GATEWAY_FLAGS:-} 2>"$work/vigil_base/access.log") &
  gwb_pid=$!
fi
# One gateway per feature, switched on alone, and one with all of them (each on its own port).
declare -A feature_route=() feature_gateway=() feature_port=()
feature_gateway[scan_args]=$'[gateway.scan]\narguments = "block"\nresults = "off"'
feature_gateway[scan_results]=$'[gateway.scan]\narguments = "off"\nresults = "redact"'
feature_gateway[audit]=$'[gateway.scan]\narguments = "off"\nresults = "off"\n\n[gateway.audit]\npath = "audit/tools.jsonl"'
# The per-tool features: a scope rule the token satisfies, argument validation, pins.
feature_route[scopes]=$'[[gateway.routes.tools]]\nname = "read_*"\nscopes = ["fs:read"]'
feature_gateway[scopes]=$'[gateway.scan]\narguments = "off"\nresults = "off"'
feature_gateway[validation]=$'[gateway.scan]\narguments = "off"\nresults = "off"\n\n[gateway.validation]\nmode = "enforce"'
feature_route[pins]='pins = "tools.lock"'
feature_gateway[pins]=$'[gateway.scan]\narguments = "off"\nresults = "off"'
features=(scan_args scan_results audit scopes validation pins)
token_flags="--claim scope=fs:read"
all_route=$'pins = "tools.lock"\n[[gateway.routes.tools]]\nname = "read_*"\nscopes = ["fs:read"]'
all_gateway=$'[gateway.scan]\narguments = "block"\nresults = "redact"\n\n[gateway.audit]\npath = "audit/tools.jsonl"\n\n[gateway.validation]\nmode = "enforce"\n'
for f in ${BENCH_FEATURES:-}; do
  r="FEATURE_${f}_ROUTE"; g="FEATURE_${f}_GATEWAY"; t="FEATURE_${f}_TOKEN"
  feature_route[$f]=${!r:-}
  feature_gateway[$f]=$'[gateway.scan]\narguments = "off"\nresults = "off"\n'"${!g:-}"
  token_flags+=" ${!t:-}"
  all_route+=$'\n'"${!r:-}"
  all_gateway+=$'\n'"${!g:-}"
  features+=("$f")
done
feature_route[all]=$all_route
feature_gateway[all]=$all_gateway
# With VIGIL_BASE_BIN, each feature row also runs on the base build (vigil_base_<feature>).
for row in "${features[@]}" all ${base:+$(printf 'base_%s ' "${features[@]}" all)}; do
  f=${row#base_}; bin=$vigil; [ "$row" != "$f" ] && bin=$base
  port=$(free_port); feature_port[$row]=$port
  mkdir -p "$work/vigil_$row"
  cat >"$work/vigil_$row/vigil.toml" <<EOF
[gateway]
listen = "127.0.0.1:$port"

[[gateway.routes]]
path = "/mcp/filesystem"
upstream = "http://127.0.0.1:$up_port"
audience = "filesystem"
${feature_route[$f]:-}

[gateway.rate_limit]
per_ip = "100000000/minute"

${feature_gateway[$f]}
EOF
  (cd "$work/vigil_$row" && exec ${BENCH_WRAP:-} "$bin" ${VIGIL_FLAGS:-} gateway ${GATEWAY_FLAGS:-} 2>"$work/vigil_$row/access.log") &
  feature_pids+=($!)
  pid_of[vigil_$row]=$!
done
token=$("$vigil" token mint --aud filesystem --sub bench --ttl 3600 $token_flags)
for p in $up_port $ngx_port $ngxb_port $ngxl_port $gw_port $gwb_port "${feature_port[@]}"; do
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$p/" && break; sleep 0.1; done
done
# Rows with pins: the upstream's tools approved, as an operator would (`vigil gateway pin`).
for f in "${!feature_port[@]}"; do
  if grep -q '^pins = ' "$work/vigil_$f/vigil.toml"; then
    # The review prints the listing's digest; the approval records that listing only.
    digest=$(cd "$work/vigil_$f" && { "$vigil" gateway pin --route /mcp/filesystem 2>&1 || true; } | sed -n 's/.*--approve \([0-9a-f]*\).*/\1/p')
    (cd "$work/vigil_$f" && "$vigil" gateway pin --route /mcp/filesystem --approve "$digest" >pin.log 2>&1) ||
      { echo "vigil gateway pin failed for vigil_$f: $(cat "$work/vigil_$f/pin.log")" >&2; exit 1; }
  fi
done
for p in $gw_port $gwb_port "${feature_port[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "authorization: Bearer $token" -H 'content-type: application/json' --data '{}' "http://127.0.0.1:$p/mcp/filesystem/")
  [ "$code" = 200 ] || { echo "vigil gateway on $p answered $code" >&2; exit 1; }
  # The benchmark's call reaches the upstream's result (not a refusal the gateway answers).
  answer=$(curl -s -X POST -H "authorization: Bearer $token" -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \
    --data '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"README.md"}}}' "http://127.0.0.1:$p/mcp/filesystem/")
  grep -q "security plane" <<<"$answer" || { echo "vigil gateway on $p did not forward the call: $answer" >&2; exit 1; }
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' --data '{}' "http://127.0.0.1:$p/mcp/filesystem/")
  [ "$code" = 401 ] || { echo "vigil gateway on $p let an unauthenticated request through ($code)" >&2; exit 1; }
done

# ContextForge: its own venv under target/ (pip, once), SQLite, JWT auth on, the admin UI off,
# in front of an MCP server built with the official Python SDK (stateless Streamable HTTP, JSON
# answers, the same tool result as the nginx upstream), called on its JSON-RPC endpoint. Its
# configuration is recorded in $work/contextforge/config.env.
cf_port=
if [ "${BENCH_CONTEXTFORGE:-1}" = 1 ]; then
  venv=$root/target/bench-deps/contextforge
  if [ ! -x "$venv/bin/mcpgateway" ]; then
    python3 -m venv "$venv" && "$venv/bin/pip" install -q mcp-contextforge-gateway
  fi
  mkdir -p "$work/contextforge"
  cfup_port=$(free_port); cf_port=$(free_port)
  cat >"$work/contextforge/upstream.py" <<PY
from mcp.server.fastmcp import FastMCP
mcp = FastMCP("bench", host="127.0.0.1", port=$cfup_port, stateless_http=True, json_response=True, log_level="WARNING")
@mcp.tool()
def read_file(path: str) -> str:
    """Read a file."""
    return """$text""".replace("\\\\n", "\\n")
mcp.run(transport="streamable-http")
PY
  (cd "$work/contextforge" && exec "$venv/bin/python" upstream.py >upstream.log 2>&1) &
  cfup_pid=$!
  cf_secret=$(openssl rand -hex 32)
  cat >"$work/contextforge/config.env" <<CONF
HOST=127.0.0.1
PORT=$cf_port
JWT_SECRET_KEY=$cf_secret
AUTH_REQUIRED=true
MCP_CLIENT_AUTH_ENABLED=true
MCPGATEWAY_UI_ENABLED=false
MCPGATEWAY_ADMIN_API_ENABLED=false
PLATFORM_ADMIN_EMAIL=admin@example.com
PLATFORM_ADMIN_PASSWORD=$(openssl rand -hex 16)
AUTH_ENCRYPTION_SECRET=$(openssl rand -hex 32)
DATABASE_URL=sqlite:///$work/contextforge/mcp.db
CACHE_TYPE=memory
LOG_LEVEL=ERROR
SSRF_ALLOW_LOCALHOST=true
CONF
  (cd "$work/contextforge" && set -a && . ./config.env && set +a && exec "$venv/bin/mcpgateway" --host 127.0.0.1 --port "$cf_port" >server.log 2>&1) &
  cf_pid=$!
  cf_token=$(cd "$work/contextforge" && set -a && . ./config.env && set +a && "$venv/bin/python" -m mcpgateway.utils.create_jwt_token --username admin@example.com --exp 120 --secret "$cf_secret" 2>"$work/contextforge/token.err" | tail -1 || true)
  for _ in $(seq 600); do curl -s -o /dev/null -H "authorization: Bearer $cf_token" "http://127.0.0.1:$cf_port/health" && break; sleep 0.2; done
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$cfup_port/mcp" && break; sleep 0.1; done
  curl -s -X POST -H "authorization: Bearer $cf_token" -H 'content-type: application/json' \
    --data "{\"name\":\"bench\",\"url\":\"http://127.0.0.1:$cfup_port/mcp\",\"transport\":\"STREAMABLEHTTP\"}" \
    "http://127.0.0.1:$cf_port/gateways" >"$work/contextforge/register.json" || true
  cf_tool=$(curl -s -H "authorization: Bearer $cf_token" "http://127.0.0.1:$cf_port/tools" | python3 -c 'import json,sys; t=json.load(sys.stdin); t=t.get("items", t) if isinstance(t, dict) else t; print(next(x["name"] for x in t if "read" in x["name"]))' 2>/dev/null || true)
  if [ -n "$cf_tool" ]; then
    cat >"$work/contextforge.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"$cf_tool","arguments":{"path":"README.md"}}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Authorization"] = "Bearer $cf_token"
LUA
    code=$(curl -s -o "$work/contextforge/probe.json" -w '%{http_code}' -X POST -H "authorization: Bearer $cf_token" -H 'content-type: application/json' \
      --data "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"$cf_tool\",\"arguments\":{\"path\":\"README.md\"}}}" "http://127.0.0.1:$cf_port/rpc" || true)
    grep -q "security plane" "$work/contextforge/probe.json" || { echo "ContextForge answered $code: $(head -c 300 "$work/contextforge/probe.json")" >&2; cf_port=; }
  else
    echo "ContextForge did not list the upstream's tool: $(head -c 300 "$work/contextforge/register.json")" >&2; cf_port=
  fi
fi

cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"README.md"}}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Authorization"] = "Bearer $token"
EOF

declare -A url=(
  [direct]="http://127.0.0.1:$up_port/"
  [nginx]="http://127.0.0.1:$ngx_port/mcp/filesystem/"
  [nginx_buffered]="http://127.0.0.1:$ngxb_port/mcp/filesystem/"
  [vigil]="http://127.0.0.1:$gw_port/mcp/filesystem/"
  [hyper_floor]="http://127.0.0.1:$floor_port/mcp/filesystem/"
  [hyper_checked]="http://127.0.0.1:$checked_port/mcp/filesystem/"
  [vigil_base]="http://127.0.0.1:${gwb_port:-0}/mcp/filesystem/"
  [nginx_limit]="http://127.0.0.1:$ngxl_port/mcp/filesystem/"
  [contextforge]="http://127.0.0.1:${cf_port:-0}/rpc"
)
for f in "${!feature_port[@]}"; do url[vigil_$f]="http://127.0.0.1:${feature_port[$f]}/mcp/filesystem/"; done
default_targets="direct nginx nginx_buffered nginx_limit ${floor_pid:+hyper_floor }${checked_pid:+hyper_checked }${base:+vigil_base }vigil"
for f in "${features[@]}" all; do default_targets+=" ${base:+vigil_base_$f }vigil_$f"; done
if [ -n "$cf_port" ]; then default_targets+=" contextforge"; fi
read -r -a targets <<<"${BENCH_TARGETS:-$default_targets}"
# to_ms "1.23ms" | "850.00us" | "1.02s" -> milliseconds
# cpu_ticks PID... -> user+system clock ticks of those processes (and their threads) so far
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
declare -A pids=(
  [direct]="$(pgrep -P "$(cat "$work/upstream/nginx.pid")" | tr '\n' ' ')"
  [nginx]="$(pgrep -P "$(cat "$work/proxy/nginx.pid")" | tr '\n' ' ')"
  [nginx_buffered]="$(pgrep -P "$(cat "$work/proxybuf/nginx.pid")" | tr '\n' ' ')"
  [vigil]="$gw_pid"
  [hyper_floor]="${floor_pid:-}"
  [hyper_checked]="${checked_pid:-}"
  [vigil_base]="${gwb_pid:-}"
  [nginx_limit]="$(pgrep -P "$(cat "$work/proxylimit/nginx.pid")" | tr '\n' ' ')"
  [contextforge]="$(if [ -n "${cf_pid:-}" ]; then echo "$cf_pid"; pgrep -P "$cf_pid"; fi | tr '\n' ' ')"
)
for f in "${!feature_port[@]}"; do pids[vigil_$f]=${pid_of[vigil_$f]}; done
hz=$(getconf CLK_TCK)
to_ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us$/, "", v); print v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v); print v + 0 } else { sub(/s$/, "", v); print v * 1000 } }'; }
for r in $(seq "$rounds"); do
  for i in "${!targets[@]}"; do
    t=${targets[$(((i + r - 1) % ${#targets[@]}))]}
    before=$(cpu_ticks ${pids[$t]})
    counted=; [ -n "${BENCH_INSTRUCTIONS:-}" ] && [[ $t == vigil* || $t == hyper_* ]] && counted=1
    [ -n "$counted" ] && callgrind_control -z "${pids[$t]}" >/dev/null 2>&1
    script=$work/post.lua; [ "$t" = contextforge ] && script=$work/contextforge.lua
    # ContextForge answers in seconds under load: wrk's 2 s default timeout would count nothing.
    timeout_flag=""; [ "$t" = contextforge ] && timeout_flag="--timeout 30s"
    out=$(wrk -t1 -c"$conns" -d"${secs}s" $timeout_flag --latency -s "$script" "${url[$t]}")
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    total=$(awk '/requests in/ {print $1}' <<<"$out")
    cpu_us=$(awk -v a="$before" -v b="$(cpu_ticks ${pids[$t]})" -v hz="$hz" -v n="$total" 'BEGIN { if (n > 0) printf "%.1f", (b - a) * 1e6 / hz / n; else printf "nan" }')
    if [ -n "$counted" ]; then
      # The instructions since the zeroing above, from the dump it writes now.
      callgrind_control -d "${pids[$t]}" >/dev/null 2>&1
      dump=$(ls -t "$work/$t"/callgrind.out.* | head -1)
      cpu_us=$(awk -v n="$total" '/^(summary|totals):/ {i = $2} END { if (n > 0) printf "%.0f", i / n; else printf "nan" }' "$dump")
    fi
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    echo "$rps $p50 $p99 ${non2xx:-0} $cpu_us" >>"$work/$t.rounds"
    echo "round $r $t: $rps req/s, p50 $p50 ms, p99 $p99 ms, non-2xx ${non2xx:-0}, server ${counted:+instructions $cpu_us per request}${counted:-CPU $cpu_us us/request}" >&2
  done
done
echo
echo "wrk -t1 -c$conns, ${secs}s x $rounds rounds, median of each column:"
last_column="server CPU us/request"
[ -n "${BENCH_INSTRUCTIONS:-}" ] && last_column="server instructions per request (Vigil rows; others CPU us)"
echo "| target | req/s | p50 ms | p99 ms | non-2xx | $last_column |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for t in "${targets[@]}"; do
  med() { cut -d' ' -f"$1" "$work/$t.rounds" | sort -g | awk -v n="$rounds" 'NR == int((n + 1) / 2)'; }
  printf "| %s | %.0f | %.3f | %.3f | %s | %s |\n" "$t" "$(med 1)" "$(med 2)" "$(med 3)" "$(med 4)" "$(med 5)"
done | tee "$work/table"
awk '$2 == "nginx" {n = $4; np = $8} $2 == "nginx_buffered" {b = $4; bp = $8} $2 == "nginx_limit" {l = $4; lp = $8} $2 == "vigil" {v = $4; vp = $8} $2 == "vigil_all" {a = $4; ap = $8} END {
  if (v && l) printf "\nvigil / nginx with limit_req and a buffered access log: %.0f%% of the requests/s (target >= 90%%), p99 %.0f%% (target <= 100%%)\n", 100 * v / l, 100 * vp / lp
  if (a && l) printf "vigil_all / the same nginx: %.0f%% of the requests/s, p99 %.0f%%\n", 100 * a / l, 100 * ap / lp
  if (v && n) printf "vigil / nginx: %.0f%% of the requests/s, p99 %.0f%% of nginx'"'"'s\n", 100 * v / n, 100 * vp / np
  if (v && b) printf "vigil / nginx with a buffered access log: %.0f%% of the requests/s, p99 %.0f%%\n", 100 * v / b, 100 * vp / bp }' "$work/table"
# Each feature's server CPU per request against the plain gateway's (target: at most +15%).
what=CPU; [ -n "${BENCH_INSTRUCTIONS:-}" ] && what=instructions
awk -v what="$what" -F'|' '{ t = $2; gsub(/ /, "", t); cpu[t] = $7 + 0; rps[t] = $3 + 0 } END {
  if (!cpu["vigil"]) exit
  for (t in cpu) if (t ~ /^vigil_/ && t != "vigil_base") {
    ref = (t ~ /^vigil_base_/) ? "vigil_base" : "vigil"
    if (cpu[ref]) printf "%s: server %s per request %+.1f%% of %s%s\n", t, what, 100 * (cpu[t] / cpu[ref] - 1), (ref == "vigil" ? "the plain gateway'"'"'s" : "the plain base'"'"'s"), (t ~ /_all$/ ? "" : " (target <= +15%)")
  }
  if (cpu["contextforge"]) printf "contextforge: %.0fx the plain gateway'"'"'s server CPU per request, %.2f%% of its requests/s\n", cpu["contextforge"] / cpu["vigil"], 100 * rps["contextforge"] / rps["vigil"] }' "$work/table" | sort
awk -F'|' '$2 ~ /^ vigil_base / {b = $7; br = $3} $2 ~ /^ vigil / {v = $7; vr = $3} END {
  if (b && v) printf "vigil / vigil_base: server CPU per request %.1f%% of the base'"'"'s, requests/s %.1f%%\n", 100 * v / b, 100 * vr / br }' "$work/table"
echo "vigil access log: $(wc -l <"$work/vigil/access.log") lines; nginx access log: $(wc -l <"$work/proxy/access.log") lines"
if [ -f "$work/vigil_audit/audit/tools.jsonl" ]; then
  echo "vigil_audit: $("$vigil" gateway audit verify "$work/vigil_audit/audit/tools.jsonl" | tail -1)"
fi
if [ -n "$cf_port" ]; then
  echo "ContextForge $("$root/target/bench-deps/contextforge/bin/pip" show mcp-contextforge-gateway 2>/dev/null | awk '/^Version/ {print $2}'), configuration: $work/contextforge/config.env"
fi
