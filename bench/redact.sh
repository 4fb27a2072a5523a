#!/usr/bin/env bash
# `vigil redact` throughput on real log text read from a file, one core, in one run beside `sed`
# with one fixed pattern (for scale: the cheapest filter a user could write, which finds one
# token shape and nothing encoded).
#
# The log text is real: `git log -p` of a real repository (commit messages, code, diffs: what
# CI and bot logs are made of), 256 MiB of it, with one GitHub token per ~64 KiB planted by this
# script (built at run time; none is stored here).
#
#   bench/redact.sh                                  # the uv mirror fetched for scan benchmarks
#   BENCH_REPO=/path/to/repo.git BENCH_MB=128 bench/redact.sh
#   VIGIL_BIN=/tmp/vigil-before bench/redact.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
repo=${BENCH_REPO:-/work/.mirror/astral-sh+uv/repo}
mb=${BENCH_MB:-256}
work=${BENCH_DIR:-$root/target/bench/redact}
mkdir -p "$work"
command -v /usr/bin/time >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q time; }
if [ -z "${VIGIL_BIN:-}" ]; then cargo build --release -q -p vigil; fi
vigil=${VIGIL_BIN:-$root/target/release/vigil}

log=$work/log-$mb.txt
if [ ! -s "$log" ]; then
  echo "building $mb MiB of log text from $repo" >&2
  git -C "$repo" log -p --no-color --no-ext-diff HEAD 2>/dev/null | head -c $((mb << 20)) > "$log.raw" || true
  python3 - "$log.raw" "$log" <<'PY'
import random, string, sys, zlib
B = string.digits + string.ascii_uppercase + string.ascii_lowercase
def gh(r):
    body = ''.join(r.choice(string.ascii_letters + string.digits) for _ in range(30))
    n, s = zlib.crc32(body.encode()), ''
    for _ in range(6):
        s, n = B[n % 62] + s, n // 62
    return 'ghp_' + body + s
r = random.Random(7)
src, dst = open(sys.argv[1], 'rb'), open(sys.argv[2], 'wb')
n = 0
for line in src:
    dst.write(line)
    n += len(line)
    if n >= 65536:
        n = 0
        dst.write(('INFO bot: using token %s\n' % gh(r)).encode())
PY
  rm -f "$log.raw"
fi
bytes=$(stat -c %s "$log")
planted=$(grep -c 'INFO bot: using token ghp_' "$log")

run() { # name, command...
  local name=$1; shift
  cat "$log" > /dev/null # warm the page cache
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f '%e %U %M' -o "$work/time" taskset -c 0 "$@" < "$log" > "$work/out-$name"
  t1=$(date +%s.%N)
  read -r wall user rss < "$work/time"
  python3 -c "import sys; b=$bytes; w=$t1-$t0; print(f'| {sys.argv[1]} | {w:.2f} s | {b/w/1e6:.0f} MB/s | {float(sys.argv[2]):.2f} s | {int(sys.argv[3])/1024:.0f} MB |')" "$name" "$user" "$rss"
}
echo "log: $((bytes >> 20)) MiB, $planted planted tokens, one core (taskset -c 0)"
echo "| filter | wall | throughput | user CPU | peak RSS |"
echo "|---|---|---|---|---|"
run sed sed -E 's/ghp_[A-Za-z0-9]{36}/[REDACTED]/g'
run vigil "$vigil" redact -q
run vigil-no-decode "$vigil" redact -q --max-decode-depth 0
left=$(grep -c 'INFO bot: using token ghp_' "$work/out-vigil" || true)
echo "planted tokens left by vigil redact: $left of $planted"
cmp <(grep -v 'INFO bot: using token' "$log") <(grep -v 'INFO bot: using token' "$work/out-vigil") >/dev/null \
  && echo "every other line identical" || echo "other lines changed: $(diff <(grep -v 'INFO bot: using token' "$log") <(grep -v 'INFO bot: using token' "$work/out-vigil") | grep -c '^>') (findings in the repository's own history)"
