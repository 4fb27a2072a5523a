#!/usr/bin/env bash
# Times `vigil scan` against Kingfisher, gitleaks, ripsecrets and detect-secrets on one corpus of
# real third-party source, in one run, and prints MB/s, peak RSS and finding counts per tool.
#
#   bench/scan-peers.sh                 # corpus under target/bench (built once, reused)
#   BENCH_RUNS=5 bench/scan-peers.sh    # rounds of the fast tools, interleaved (medians reported)
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
# once NAME -- COMMAND...: times COMMAND once (wall seconds and peak RSS appended to NAME's
# records; a run killed by the cap is marked).
once() {
  local name=$1; shift 2
  /usr/bin/time -f '%e %M' -o "$out/$name.time" timeout "$cap" "$@" >"$out/$name.stdout" 2>"$out/$name.stderr" || true
  if grep -q 'status 124' "$out/$name.time"; then echo "$cap 0 capped" >>"$out/$name.runs"; return; fi
  tail -n 1 "$out/$name.time" >>"$out/$name.runs"
}
# row NAME COUNT-COMMAND: NAME's table row from its runs (median wall time, largest RSS).
row() {
  local name=$1 count=$2
  [ -s "$out/$name.runs" ] || return 0
  local med rss; med=$(awk '{print $1}' "$out/$name.runs" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  rss=$(awk 'BEGIN {m=0} $2 > m {m=$2} END {print m}' "$out/$name.runs")
  echo "$name $med" >>"$out/medians"
  if grep -q capped "$out/$name.runs"; then
    # Killed by the cap: report a lower bound on time and no findings.
    printf '| %-14s | > %6s | < %7.1f | %8.0f | %8s |\n' "$name" "$cap" "$(awk -v b="$bytes" -v t="$cap" 'BEGIN {print b/1e6/t}')" "$((rss / 1024))" "n/a"
    return
  fi
  local n; n=$(eval "$count" 2>/dev/null || echo "n/a")
  printf '| %-14s | %8.2f | %9.1f | %8.0f | %8s |\n' "$name" "$med" "$(awk -v b="$bytes" -v t="$med" 'BEGIN {print b/1e6/t}')" "$((rss / 1024))" "$n"
}

rm -f "$out/medians" "$out"/*.runs
# The fast tools run in interleaved rounds (vigil, Kingfisher, gitleaks, then again): a machine
# whose speed drifts over a minute slows every tool alike, not only the one timed then.
for _ in $(seq "$runs"); do
  wanted vigil && once vigil -- "$vigil" scan "$corpus" --no-ignore -q -f json -o "$out/vigil.json"
  wanted kingfisher && once kingfisher -- \
    kingfisher scan "$corpus" --no-validate --no-update-check --format json -o "$out/kingfisher.json"
  wanted gitleaks && once gitleaks -- gitleaks dir "$corpus" --no-banner --exit-code 0 -f json -r "$out/gitleaks.json"
done
for _ in $(seq "$slow_runs"); do
  wanted ripsecrets && once ripsecrets -- ripsecrets "$corpus"
  wanted detect-secrets && once detect-secrets -- detect-secrets scan --all-files "$corpus"
done
echo
echo "| tool           | median s |      MB/s | peak RSS MB | findings |"
echo "| -------------- | -------- | --------- | -------- | -------- |"
row vigil "python3 -c 'import json;print(len(json.load(open(\"$out/vigil.json\"))))'"
row kingfisher "python3 -c 'import json;print(len(json.load(open(\"$out/kingfisher.json\"))[\"findings\"]))'"
row gitleaks "python3 -c 'import json;print(len(json.load(open(\"$out/gitleaks.json\"))))'"
row ripsecrets "wc -l <'$out/ripsecrets.stdout'"
row detect-secrets "python3 -c 'import json;print(sum(len(v) for v in json.load(open(\"$out/detect-secrets.stdout\"))[\"results\"].values()))'"
if [ -s "$out/vigil.runs" ] && [ -s "$out/kingfisher.runs" ]; then
  # Round by round (each pair timed within seconds of each other): the spread of the ratio.
  echo "per round, Kingfisher / vigil: $(paste -d' ' <(cut -d' ' -f1 "$out/vigil.runs") <(cut -d' ' -f1 "$out/kingfisher.runs") | awk '{printf "%s%.2f", (NR > 1 ? " " : ""), $2 / $1}')"
fi
echo
awk '/^vigil / {v=$2} {t[$1]=$2} END {for (k in t) if (k != "vigil") printf "vigil is %.1fx %s\n", t[k]/v, k}' "$out/medians" | sort
