#!/usr/bin/env bash
# Generates a long history (BENCH_COMMITS, default 200,000 commits, bench/make-history.py: each
# commit adds or edits files of a source corpus, a GitHub token planted every 500 commits) and
# records `vigil scan --git`'s wall and CPU seconds and peak RSS against the 400 MB budget, and
# whether every planted token was found.
#
#   bench/scan-git-scale.sh
#   BENCH_COMMITS=50000 BENCH_CORPUS=/usr/include VIGIL_BIN=target/release/vigil bench/scan-git-scale.sh
#
# The corpus defaults to /usr/include (third-party headers; any folder of source files will do).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
commits=${BENCH_COMMITS:-200000}
work=${BENCH_DIR:-$root/target/bench}
corpus=${BENCH_CORPUS:-/usr/include}
hist=$work/scale-$commits
vigil=${VIGIL_BIN:-}
if [ -z "$vigil" ]; then
  cargo build --release -q -p vigil
  vigil=${CARGO_TARGET_DIR:-$root/target}/release/vigil
fi
command -v /usr/bin/time >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q time; }
mkdir -p "$work"
if [ ! -f "$hist/.complete" ]; then
  rm -rf "$hist" && mkdir -p "$hist"
  git init -q -b main --bare "$hist/repo.git"
  python3 bench/make-history.py "$corpus" "$commits" "$hist/planted.txt" | git -C "$hist/repo.git" fast-import --quiet
  git -C "$hist/repo.git" repack -adq
  touch "$hist/.complete"
fi
repo=$hist/repo.git
n=$(git -C "$repo" rev-list --count --all)
size=$(du -sm "$repo" | cut -f1)
echo "history: $repo, $n commits, $size MB packed, $(wc -l <"$hist/planted.txt") planted tokens"
/usr/bin/time -f '%e %U %S %M' -o "$hist/vigil.time" \
  "$vigil" scan --git "$repo" --show-secrets -f json -o "$hist/vigil.json" 2>"$hist/vigil.stderr" || true
read -r wall user sys rss < <(tail -n 1 "$hist/vigil.time")
found=$(python3 - "$hist/planted.txt" "$hist/vigil.json" <<'PY'
import sys
planted = [l.strip() for l in open(sys.argv[1]) if l.strip()]
text = open(sys.argv[2]).read()
print(f"{sum(1 for t in planted if t in text)} / {len(planted)}")
PY
)
grep -h 'finding(s) in' "$hist/vigil.stderr" || true
printf '| commits | wall s | CPU s | peak RSS MB | planted found |\n| ---: | ---: | ---: | ---: | --- |\n'
printf '| %s | %s | %.1f | %d | %s |\n' "$n" "$wall" "$(echo "$user + $sys" | bc)" "$((rss / 1024))" "$found"
if [ "$((rss / 1024))" -le 400 ]; then echo "peak RSS within the 400 MB budget"; else echo "peak RSS OVER the 400 MB budget"; fi
