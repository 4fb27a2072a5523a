#!/usr/bin/env bash
# Times `vigil scan` against Kingfisher, gitleaks, ripsecrets and detect-secrets on one corpus of
# real third-party source, in one run, and prints MB/s, peak RSS and finding counts per tool.
#
#   bench/scan-peers.sh                 # corpus under target/bench (built once, reused)
#   BENCH_RUNS=5 bench/scan-peers.sh    # runs per fast tool (median wall time is reported)
#   BENCH_SLOW_RUNS=1, BENCH_TIMEOUT=1800  # ripsecrets and detect-secrets: runs, and a cap in s
#   BENCH_TOOLS="vigil kingfisher gitleaks"  # only these tools; VIGIL_BIN=path: that vigil, unbuilt
#
# Corpus: the crates `cargo vendor` puts in a folder for this workspace, CPython's standard library
# (without site-packages and bytecode) and /usr/include: at least 200 MB, none of it ours.
# MB/s is corpus bytes (every file, as each tool is pointed at the same folder) / median seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${BENCH_RUNS:-3}
slow_runs=${BENCH_SLOW_RUNS:-1}
cap=${BENCH_TIMEOUT:-1800}
work=${BENCH_DIR:-$root/target/bench}
corpus=$work/corpus
mkdir -p "$work"

# shellcheck source=bench/common.sh
source "$root/bench/common.sh"
peer_setup
build_corpus "$corpus"
bytes=$(find "$corpus" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
files=$(find "$corpus" -type f | wc -l)
mb=$(awk -v b="$bytes" 'BEGIN {printf "%.1f", b/1e6}')
echo "corpus: $corpus, $files files, $mb MB"
[ "$bytes" -ge 200000000 ] || { echo "corpus is under 200 MB" >&2; exit 1; }
find "$corpus" -type f -print0 | xargs -0 cat >/dev/null   # warm the page cache for every tool

out=$work/out; mkdir -p "$out"
# run NAME COUNT-COMMAND -- COMMAND...: times COMMAND $runs times, prints one table row.
run() {
  local name=$1 count=$2; shift 3
  wanted "$name" || return 0
  local times=() rss=0
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %M' -o "$out/$name.time" timeout "$cap" "$@" >"$out/$name.stdout" 2>"$out/$name.stderr" || true
    read -r t m < <(tail -n 1 "$out/$name.time")
    times+=("$t"); [ "$m" -gt "$rss" ] && rss=$m
  done
  local med; med=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  if grep -q 'status 124' "$out/$name.time"; then
    # Killed by the cap: report a lower bound on time and no findings.
    printf '| %-14s | > %6s | < %7.1f | %8.0f | %8s |\n' "$name" "$cap" "$(awk -v b="$bytes" -v t="$cap" 'BEGIN {print b/1e6/t}')" "$((rss / 1024))" "n/a"
    echo "$name $cap" >>"$out/medians"
    return
  fi
  local n; n=$(eval "$count" 2>/dev/null || echo "n/a")
  printf '| %-14s | %8.2f | %9.1f | %8.0f | %8s |\n' "$name" "$med" "$(awk -v b="$bytes" -v t="$med" 'BEGIN {print b/1e6/t}')" "$((rss / 1024))" "$n"
  echo "$name $med" >>"$out/medians"
}

rm -f "$out/medians"
echo
echo "| tool           | median s |      MB/s | peak RSS MB | findings |"
echo "| -------------- | -------- | --------- | -------- | -------- |"
run vigil "python3 -c 'import json;print(len(json.load(open(\"$out/vigil.json\"))))'" -- \
  "$vigil" scan "$corpus" --no-ignore -q -f json -o "$out/vigil.json"
run kingfisher "python3 -c 'import json;print(len(json.load(open(\"$out/kingfisher.json\"))[\"findings\"]))'" -- \
  kingfisher scan "$corpus" --no-validate --no-update-check --format json -o "$out/kingfisher.json"
run gitleaks "python3 -c 'import json;print(len(json.load(open(\"$out/gitleaks.json\"))))'" -- \
  gitleaks dir "$corpus" --no-banner --exit-code 0 -f json -r "$out/gitleaks.json"
runs=$slow_runs run ripsecrets "wc -l <'$out/ripsecrets.stdout'" -- \
  ripsecrets "$corpus"
runs=$slow_runs run detect-secrets "python3 -c 'import json;print(sum(len(v) for v in json.load(open(\"$out/detect-secrets.stdout\"))[\"results\"].values()))'" -- \
  detect-secrets scan --all-files "$corpus"
echo
awk '/^vigil / {v=$2} {t[$1]=$2} END {for (k in t) if (k != "vigil") printf "vigil is %.1fx %s\n", t[k]/v, k}' "$out/medians" | sort
