#!/usr/bin/env bash
# Requests/s and p50/p99 latency on loopback, in one run, with wrk (Debian package): straight to
# an upstream, through nginx as a plain reverse proxy (access log written per request, nginx's
# default, and buffered as Vigil buffers its own), and through `vigil gateway` with JWT
# verification and per-IP rate limiting on. Every request is an MCP-sized JSON-RPC POST carrying
# a bearer token (nginx ignores it; Vigil verifies it).
#
#   bench/gateway.sh                         # 10 s per run, 3 interleaved rounds, wrk -t1 -c32
#   BENCH_SECONDS=20 BENCH_ROUNDS=5 BENCH_CONNECTIONS=64 bench/gateway.sh
#   VIGIL_BIN=/tmp/vigil-before BENCH_TARGETS="nginx vigil" bench/gateway.sh   # another build
#   VIGIL_BASE_BIN=/tmp/gw-before/target/release/vigil BENCH_TARGETS="vigil_base vigil" \
#     BENCH_ROUNDS=9 bench/gateway.sh        # A/B two builds in one run, rounds interleaved
#
# The upstream is nginx answering a fixed JSON body (2 workers); each proxy nginx has 2 workers
# and an upstream keepalive pool; Vigil runs with its default 2 worker threads on this machine.
# Every proxy writes its access log to a file. Rounds interleave the targets so a slow minute on
# a shared machine hits all of them alike; the table shows each column's median over the rounds
# (requests/s, p50, p99 and CPU each on its own, so one bad round moves none of them), and the
# CPU time the proxy's own processes spent per request.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
secs=${BENCH_SECONDS:-10}
rounds=${BENCH_ROUNDS:-3}
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
nginx_conf upstream "
  server {
    listen 127.0.0.1:$up_port;
    access_log off;
    location / { default_type application/json; return 200 '{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[]}}'; }
  }"
proxy_conf() { # NAME PORT [ACCESS_LOG_OPTIONS]
  nginx_conf "$1" "
  upstream mcp { server 127.0.0.1:$up_port; keepalive 64; }
  server {
    listen 127.0.0.1:$2;
    location /mcp/filesystem/ {
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
cleanup() {
  for n in upstream proxy proxybuf; do [ -f "$work/$n/nginx.pid" ] && kill "$(cat "$work/$n/nginx.pid")" 2>/dev/null || true; done
  [ -n "${gw_pid:-}" ] && kill "$gw_pid" 2>/dev/null || true
  [ -n "${gwb_pid:-}" ] && kill "$gwb_pid" 2>/dev/null || true
}
trap cleanup EXIT
"$nginx" -c "$work/upstream/nginx.conf" -e "$work/upstream/error.log" 2>/dev/null || "$nginx" -c "$work/upstream/nginx.conf"
for n in proxy proxybuf; do
  "$nginx" -c "$work/$n/nginx.conf" -e "$work/$n/error.log" 2>/dev/null || "$nginx" -c "$work/$n/nginx.conf"
done

mkdir -p "$work/vigil"
cat >"$work/vigil/vigil.toml" <<EOF
[gateway]
listen = "127.0.0.1:$gw_port"

[[gateway.routes]]
path = "/mcp/filesystem"
upstream = "http://127.0.0.1:$up_port"
audience = "filesystem"

[gateway.rate_limit]
per_ip = "100000000/minute"
EOF
MCP_JWT_SECRET=$(openssl rand -base64 32)
export MCP_JWT_SECRET
(cd "$work/vigil" && exec ${BENCH_WRAP:-} "$vigil" ${VIGIL_FLAGS:-} gateway ${GATEWAY_FLAGS:-} 2>"$work/vigil/access.log") &
gw_pid=$!
# A second build (the "before" of an A/B), same configuration on its own port.
base=${VIGIL_BASE_BIN:-}
gwb_port=
if [ -n "$base" ]; then
  gwb_port=$(free_port)
  mkdir -p "$work/vigil_base"
  sed "s/127.0.0.1:$gw_port/127.0.0.1:$gwb_port/" "$work/vigil/vigil.toml" >"$work/vigil_base/vigil.toml"
  (cd "$work/vigil_base" && exec "$base" ${VIGIL_FLAGS:-} gateway ${GATEWAY_FLAGS:-} 2>"$work/vigil_base/access.log") &
  gwb_pid=$!
fi
token=$("$vigil" token mint --aud filesystem --sub bench --ttl 3600)
for p in $up_port $ngx_port $ngxb_port $gw_port $gwb_port; do
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$p/" && break; sleep 0.1; done
done
for p in $gw_port $gwb_port; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "authorization: Bearer $token" -H 'content-type: application/json' --data '{}' "http://127.0.0.1:$p/mcp/filesystem/")
  [ "$code" = 200 ] || { echo "vigil gateway on $p answered $code" >&2; exit 1; }
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' --data '{}' "http://127.0.0.1:$p/mcp/filesystem/")
  [ "$code" = 401 ] || { echo "vigil gateway on $p let an unauthenticated request through ($code)" >&2; exit 1; }
done

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
  [vigil_base]="http://127.0.0.1:${gwb_port:-0}/mcp/filesystem/"
)
read -r -a targets <<<"${BENCH_TARGETS:-direct nginx nginx_buffered ${base:+vigil_base }vigil}"
# to_ms "1.23ms" | "850.00us" | "1.02s" -> milliseconds
# cpu_ticks PID... -> user+system clock ticks of those processes (and their threads) so far
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
declare -A pids=(
  [direct]="$(pgrep -P "$(cat "$work/upstream/nginx.pid")" | tr '\n' ' ')"
  [nginx]="$(pgrep -P "$(cat "$work/proxy/nginx.pid")" | tr '\n' ' ')"
  [nginx_buffered]="$(pgrep -P "$(cat "$work/proxybuf/nginx.pid")" | tr '\n' ' ')"
  [vigil]="$gw_pid"
  [vigil_base]="${gwb_pid:-}"
)
hz=$(getconf CLK_TCK)
to_ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us$/, "", v); print v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v); print v + 0 } else { sub(/s$/, "", v); print v * 1000 } }'; }
for r in $(seq "$rounds"); do
  for t in "${targets[@]}"; do
    before=$(cpu_ticks ${pids[$t]})
    out=$(wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$work/post.lua" "${url[$t]}")
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    total=$(awk '/requests in/ {print $1}' <<<"$out")
    cpu_us=$(awk -v a="$before" -v b="$(cpu_ticks ${pids[$t]})" -v hz="$hz" -v n="$total" 'BEGIN { printf "%.1f", (b - a) * 1e6 / hz / n }')
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    echo "$rps $p50 $p99 ${non2xx:-0} $cpu_us" >>"$work/$t.rounds"
    echo "round $r $t: $rps req/s, p50 $p50 ms, p99 $p99 ms, non-2xx ${non2xx:-0}, server CPU $cpu_us us/request" >&2
  done
done
echo
echo "wrk -t1 -c$conns, ${secs}s x $rounds rounds, median of each column:"
echo "| target | req/s | p50 ms | p99 ms | non-2xx | server CPU us/request |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for t in "${targets[@]}"; do
  med() { cut -d' ' -f"$1" "$work/$t.rounds" | sort -g | awk -v n="$rounds" 'NR == int((n + 1) / 2)'; }
  printf "| %s | %.0f | %.3f | %.3f | %s | %s |\n" "$t" "$(med 1)" "$(med 2)" "$(med 3)" "$(med 4)" "$(med 5)"
done | tee "$work/table"
awk '$2 == "nginx" {n = $4; np = $8} $2 == "nginx_buffered" {b = $4; bp = $8} $2 == "vigil" {v = $4; vp = $8} END {
  if (v && n) printf "\nvigil / nginx: %.0f%% of the requests/s (target >= 100%%), p99 %.0f%% of nginx'"'"'s (target <= 100%%)\n", 100 * v / n, 100 * vp / np
  if (v && b) printf "vigil / nginx with a buffered access log: %.0f%% of the requests/s, p99 %.0f%%\n", 100 * v / b, 100 * vp / bp }' "$work/table"
awk -F'|' '$2 ~ /^ vigil_base / {b = $7; br = $3} $2 ~ /^ vigil / {v = $7; vr = $3} END {
  if (b && v) printf "vigil / vigil_base: server CPU per request %.1f%% of the base'"'"'s, requests/s %.1f%%\n", 100 * v / b, 100 * vr / br }' "$work/table"
echo "vigil access log: $(wc -l <"$work/vigil/access.log") lines; nginx access log: $(wc -l <"$work/proxy/access.log") lines"
