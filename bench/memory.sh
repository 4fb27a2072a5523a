#!/usr/bin/env bash
# memory_write + memory_read of 4 KiB through MCP, requests/s, against the reference filesystem
# MCP server (`@modelcontextprotocol/server-filesystem`, write_file + read_text_file) in one run,
# with the same client (the official TypeScript SDK, crates/vigil/tests/memory/mcp-client.mjs)
# over the same transport (stdio). Each client call waits for its answer (one request in flight,
# as an agent calls tools); a pair is one write then one read of the same file, over 100 files.
#
#   bench/memory.sh                          # 10 s per target, 3 interleaved rounds
#   BENCH_SECONDS=20 BENCH_ROUNDS=5 bench/memory.sh
#   VIGIL_BIN=/tmp/vigil-before bench/memory.sh
#   VIGIL_BINS="before=/tmp/vigil-a after=/tmp/vigil-b" bench/memory.sh   # two builds, interleaved
#
# Each server runs under /usr/bin/time: besides requests/s, the table gives the server's own
# CPU time (user + system) per request, which a loaded machine disturbs much less.
#
# fsync policy: server-filesystem never fsyncs (fs.writeFile to a temp file, then rename).
# `vigil (fsync off)` runs with `[memory] fsync = false`: the same durability (page cache, atomic
# rename), plus the audit line, the crash journal and every path check. `vigil (fsync on)` is the
# default: the temp file, the folder, the journal, the audit log and its head are flushed to disk
# before each write answers.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
secs=${BENCH_SECONDS:-10}
rounds=${BENCH_ROUNDS:-3}
work=${BENCH_DIR:-$root/target/bench/memory}
rm -rf "$work" && mkdir -p "$work"

command -v /usr/bin/time >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q time; }
if [ -z "${VIGIL_BIN:-}" ] && [ -z "${VIGIL_BINS:-}" ]; then cargo build --release -q -p vigil; fi
declare -A bins
if [ -n "${VIGIL_BINS:-}" ]; then
  for nb in $VIGIL_BINS; do bins[${nb%%=*}]=${nb#*=}; done
else
  bins[vigil]=${VIGIL_BIN:-$root/target/release/vigil}
fi

npm_dir=$root/target/bench/memory-npm
if [ ! -f "$npm_dir/node_modules/@modelcontextprotocol/server-filesystem/package.json" ]; then
  mkdir -p "$npm_dir"
  npm install --no-audit --no-fund --silent --prefix "$npm_dir" \
    @modelcontextprotocol/sdk@1.32.2 @modelcontextprotocol/server-filesystem@2026.8.31
fi
cp crates/vigil/tests/memory/mcp-client.mjs "$npm_dir/"
fs_js=$npm_dir/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js

printf '[memory]\nfsync = false\n' >"$work/nofsync.toml"
printf '[memory]\nfsync = true\n' >"$work/fsync.toml"

run() { # NAME -> "requests/s cpu-µs-per-request" on stdout
  local name=$1 spec cmd args
  local cpu=$work/cpu-$name
  case $name in
    filesystem)
      local dir=$work/fs && mkdir -p "$dir/bench"
      cmd=node
      args=$(printf '"%s","%s"' "$fs_js" "$dir")
      spec=$(printf '"bench":{"seconds":%s,"size":4096,"write":"write_file","read":"read_text_file","dir":"%s/bench/"}' "$secs" "$dir")
      ;;
    *)
      # BUILD-nofsync or BUILD-fsync
      local build=${name%-*} mode=${name##*-}
      local cfg=$work/$mode.toml store=$work/store-$name
      cmd=${bins[$build]}
      args=$(printf '"--config","%s","memory","serve","--root","%s","--stdio","--principal","bench"' "$cfg" "$store")
      spec=$(printf '"bench":{"seconds":%s,"size":4096,"write":"memory_write","read":"memory_read","dir":"bench/"}' "$secs")
      ;;
  esac
  local json
  json=$(printf '{"stdio":{"command":"/usr/bin/time","args":["-f","%%U %%S","-o","%s","%s",%s]},%s}' "$cpu" "$cmd" "$args" "$spec")
  (cd "$npm_dir" && echo "$json" | node mcp-client.mjs 2>/dev/null) |
    python3 -c '
import json, sys
d = json.load(sys.stdin)["bench"]
u, s = open(sys.argv[1]).read().split()[-2:]
print("%.0f %.0f" % (d["requests_per_second"], (float(u) + float(s)) * 1e6 / (2 * d["pairs"])))' "$cpu"
}

targets=(filesystem)
for b in $(printf '%s\n' "${!bins[@]}" | sort); do
  targets+=("$b-nofsync")
  [ -n "${BENCH_NO_FSYNC_ON:-}" ] || targets+=("$b-fsync")
done
declare -A results cpus
for r in $(seq "$rounds"); do
  for t in "${targets[@]}"; do
    read -r v c < <(run "$t")
    results[$t]="${results[$t]:-} $v"
    cpus[$t]="${cpus[$t]:-} $c"
    echo "round $r: $t $v requests/s, server CPU $c µs/request (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
fs_med=$(echo "${results[filesystem]}" | median)
echo
echo "| server | fsync | requests/s (median of $rounds × ${secs} s) | × server-filesystem | server CPU µs/request (median) |"
echo "| --- | --- | ---: | ---: | ---: |"
for t in "${targets[@]}"; do
  m=$(echo "${results[$t]}" | median)
  c=$(echo "${cpus[$t]}" | median)
  case $t in
    filesystem) label="@modelcontextprotocol/server-filesystem 2026.8.31"; fs="never" ;;
    *-nofsync) label="vigil memory serve (${t%-nofsync})"; fs="off" ;;
    *-fsync) label="vigil memory serve (${t%-fsync})"; fs="every write" ;;
  esac
  echo "| $label | $fs | $m | $(python3 -c "print('%.2f' % ($m / $fs_med))") | $c |"
done
