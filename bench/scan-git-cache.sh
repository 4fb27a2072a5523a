#!/usr/bin/env bash
# The history cache of `vigil scan --git --cache` on a real history: a copy of a mirror, a first full
# scan (which writes .git/vigil/history-cache), one new commit, a second full scan. Prints wall,
# CPU (user+sys) and peak RSS of both, the commits the second read from the cache, and whether
# both reports hold the same findings (the new commit's aside).
#
# BENCH_REPO=/work/.mirror/astral-sh+uv/repo VIGIL_BIN=target/release/vigil bench/scan-git-cache.sh
set -euo pipefail
repo=${BENCH_REPO:?set BENCH_REPO to a mirror (bare repository)}
bin=$(realpath "${VIGIL_BIN:-target/release/vigil}")
out=$(realpath -m "${BENCH_OUT:-target/bench/git-cache}")
rm -rf "$out"
mkdir -p "$out/keys"
# A mirror clone sharing the source's objects (alternates: nothing is copied, nothing is
# written into the source); the new commit's objects go into the clone.
git clone -q --mirror --shared "$repo" "$out/repo.git"
export XDG_CACHE_HOME="$out/keys"
run() { # name, then vigil arguments
  local name=$1
  shift
  /usr/bin/time -f "%e %U %S %M" -o "$out/$name.time" \
    "$bin" scan --git --cache "$out/repo.git" -f json -o "$out/$name.json" "$@" 2>"$out/$name.err" || true
  # (time's last line: a first one says when vigil exits 1, findings)
  read -r wall user sys rss < <(tail -n 1 "$out/$name.time")
  printf '%-7s wall %7.2f s  cpu %7.2f s  peak RSS %5d MB  %s\n' "$name" "$wall" \
    "$(echo "$user + $sys" | bc)" $((rss / 1024)) "$(grep -o '[0-9]* commit(s)[^,]*' "$out/$name.err" | head -1)"
}
run first
# One new commit on HEAD's branch, made with plumbing (the copy is bare): a file with a line.
git -C "$out/repo.git" config user.name bench
git -C "$out/repo.git" config user.email bench@example.org
export GIT_INDEX_FILE="$out/index"
git -C "$out/repo.git" read-tree HEAD
blob=$(printf 'one new line\n' | git -C "$out/repo.git" hash-object -w --stdin)
git -C "$out/repo.git" update-index --add --cacheinfo 100644 "$blob" bench-new-file.txt
tree=$(git -C "$out/repo.git" write-tree)
commit=$(git -C "$out/repo.git" commit-tree "$tree" -p HEAD -m "bench: one new commit")
git -C "$out/repo.git" update-ref HEAD "$commit"
unset GIT_INDEX_FILE
run second
python3 - "$out/first.json" "$out/second.json" <<'EOF'
import json, sys
def pairs(p):
    return sorted((f.get("file") or f.get("scope", ""), f["rule"], f.get("commit", ""), f.get("line", 0)) for f in json.load(open(p)) if "rule" in f)
a, b = pairs(sys.argv[1]), pairs(sys.argv[2])
new = [x for x in b if x not in a]
print(f"findings: first {len(a)}, second {len(b)}, identical: {a == b}, only in the second: {len(new)}")
EOF
