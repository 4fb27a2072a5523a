# Sourced by the scanner bench scripts (run from the repository root).

# peer_setup: /usr/bin/time, the peer scanners on the PATH, and a release build of vigil in $vigil.
peer_setup() {
  command -v /usr/bin/time >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q time; }
  eval "$(bash ../shared/bench/peers.sh)"
  cargo build --release -q -p vigil
  vigil=$PWD/target/release/vigil
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
