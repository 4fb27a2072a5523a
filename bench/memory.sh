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

if [ -z "${VIGIL_BIN:-}" ]; then cargo build --release -q -p vigil; fi
vigil=${VIGIL_BIN:-$root/target/release/vigil}

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

run() { # NAME -> requests/s on stdout
  local name=$1 spec
  case $name in
    vigil-nofsync|vigil-fsync)
      local cfg=$work/${name#vigil-}.toml store=$work/store-$name
      spec=$(printf '{"stdio":{"command":"%s","args":["--config","%s","memory","serve","--root","%s","--stdio","--principal","bench"]},"bench":{"seconds":%s,"size":4096,"write":"memory_write","read":"memory_read","dir":"bench/"}}' \
        "$vigil" "$cfg" "$store" "$secs")
      ;;
    filesystem)
      local dir=$work/fs && mkdir -p "$dir/bench"
      spec=$(printf '{"stdio":{"command":"node","args":["%s","%s"]},"bench":{"seconds":%s,"size":4096,"write":"write_file","read":"read_text_file","dir":"%s/bench/"}}' \
        "$fs_js" "$dir" "$secs" "$dir")
      ;;
  esac
  (cd "$npm_dir" && echo "$spec" | node mcp-client.mjs 2>/dev/null) |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.0f" % d["bench"]["requests_per_second"])'
}

targets=(filesystem vigil-nofsync vigil-fsync)
declare -A results
for r in $(seq "$rounds"); do
  for t in "${targets[@]}"; do
    v=$(run "$t")
    results[$t]="${results[$t]:-} $v"
    echo "round $r: $t $v requests/s" >&2
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
fs_med=$(echo "${results[filesystem]}" | median)
echo
echo "| server | fsync | requests/s (median of $rounds × ${secs} s) | × server-filesystem |"
echo "| --- | --- | ---: | ---: |"
for t in "${targets[@]}"; do
  m=$(echo "${results[$t]}" | median)
  case $t in
    filesystem) label="@modelcontextprotocol/server-filesystem 2026.8.31"; fs="never" ;;
    vigil-nofsync) label="vigil memory serve"; fs="off" ;;
    vigil-fsync) label="vigil memory serve"; fs="every write" ;;
  esac
  echo "| $label | $fs | $m | $(python3 -c "print('%.2f' % ($m / $fs_med))") |"
done
