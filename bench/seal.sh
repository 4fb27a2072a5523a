#!/usr/bin/env bash
# `cargo bench -p vigil-seal` with a Python that has `cryptography` (the system one, else a venv
# under target/bench/venv with cryptography from PyPI), so the run compares Vigil's seal and open
# with the bare chacha20poly1305 crate and with Python's Fernet in one go. Run from the
# repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
py=python3
if ! "$py" -c 'import cryptography' 2>/dev/null; then
  venv=target/bench/venv
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -c 'import cryptography' 2>/dev/null || "$venv/bin/python" -m pip install -q cryptography
  py=$PWD/$venv/bin/python
fi
VIGIL_BENCH_PYTHON=$py cargo bench -p vigil-seal
