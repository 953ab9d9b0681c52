#!/usr/bin/env bash
# Builds Horovod 0.28.1 from source against the venv's pinned TensorFlow (Gloo; MPI too when
# Open MPI is installed). Idempotent: does nothing when horovod.tensorflow already imports.
set -euo pipefail
PY="${1:-.venv/bin/python}"
if "$PY" -c "import horovod.tensorflow" 2>/dev/null; then
    exit 0
fi
command -v cmake >/dev/null && command -v g++ >/dev/null || {
    echo "install_horovod: cmake and g++ are needed (apt-get install cmake g++)" >&2; exit 1; }
echo "building Horovod 0.28.1 from source (about 3 minutes)..."
HOROVOD_WITH_TENSORFLOW=1 HOROVOD_WITHOUT_PYTORCH=1 HOROVOD_WITHOUT_MXNET=1 HOROVOD_WITH_GLOO=1 \
    "$PY" -m pip install -q --no-build-isolation -c constraints.txt horovod==0.28.1
"$PY" -c "import horovod.tensorflow as hvd; print('horovod', hvd.__version__ if hasattr(hvd, '__version__') else 'ok')"
