# Sourced by the scanner bench scripts (run from the repository root).

# peer_setup: /usr/bin/time, the peer scanners on the PATH, and a release build of vigil in $vigil
# (VIGIL_BIN: a vigil binary already built, used as it is; PEERS_SH: where peers.sh is).
peer_setup() {
  command -v /usr/bin/time >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q time; }
  eval "$(bash "${PEERS_SH:-../shared/bench/peers.sh}")"
  if [ -n "${VIGIL_BIN:-}" ]; then
    vigil=$VIGIL_BIN
  else
    cargo build --release -q -p vigil
    vigil=$PWD/target/release/vigil
  fi
}

# wanted NAME: whether BENCH_TOOLS (space-separated; default every tool) names NAME.
wanted() {
  [ -z "${BENCH_TOOLS:-}" ] && return 0
  case " $BENCH_TOOLS " in *" $1 "*) return 0 ;; esac
  return 1
}

# build_corpus DIR: the shared scan corpus, built once (none of it ours): the crates
# `cargo vendor` puts in a folder for this workspace, CPython's standard library without
# site-packages and bytecode, and /usr/include.
build_corpus() {
  local corpus=$1
  [ -f "$corpus/.complete" ] && return 0
  rm -rf "$corpus" && mkdir -p "$corpus"
  cargo vendor -q --versioned-dirs "$corpus/vendor" >/dev/null
  local stdlib
  stdlib=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
  cp -r "$stdlib" "$corpus/cpython"
  rm -rf "$corpus/cpython/site-packages"
  find "$corpus/cpython" -name __pycache__ -type d -prune -exec rm -rf {} +
  cp -r /usr/include "$corpus/include"
  touch "$corpus/.complete"
}
