#!/usr/bin/env bash
# `vigil lint` over 10,000 generated configuration files (about 40 MB): MCP client configs of
# several clients, voice manifests, tools/list snapshots, compose files. One run, release build,
# page cache warmed first. Target (issue 19): under 1 s.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q time; }
corpus=target/bench/lint-corpus
if [ ! -f "$corpus/.complete" ]; then
  rm -rf "$corpus" && mkdir -p "$corpus"
  python3 bench/lint-configs.py "$corpus" 10000
  touch "$corpus/.complete"
fi
cargo build --release -q -p vigil
vigil=$PWD/target/release/vigil
files=$(find "$corpus" -type f ! -name .complete | wc -l)
bytes=$(find "$corpus" -type f ! -name .complete -printf '%s\n' | awk '{s+=$1} END {print s}')
cat $(find "$corpus" -type f ! -name .complete) > /dev/null   # warm the page cache
set +e
/usr/bin/time -f '%e s wall, %U s user, %M KB peak RSS' "$vigil" lint "$corpus" -f json > target/bench/lint-report.json 2> target/bench/lint-stderr.txt
code=$?
set -e
echo "corpus: $files files, $(awk -v b="$bytes" 'BEGIN {printf "%.1f MB", b/1e6}')"
tail -2 target/bench/lint-stderr.txt
echo "exit code $code (1: findings), findings: $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' target/bench/lint-report.json)"
