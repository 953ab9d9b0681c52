#!/usr/bin/env bash
# Builds Horovod 0.28.1 (its last release) from source against the venv's TensorFlow (Gloo; MPI
# too when Open MPI is installed).
#   TensorFlow < 2.18: pip builds the sdist from the package index unmodified.
#   TensorFlow >= 2.18: the sdist does not build unmodified (xla_mpi_ops.cc needs XLA headers the
#     TF wheel does not put on its include path), so pip downloads the sdist from the package
#     index, scripts/patches/horovod-0.28.1-tf2.21.patch is applied (it says what and why), and
#     pip builds the patched tree. Nothing is fetched from anywhere but the package index.
# Usage: scripts/install_horovod.sh [PYTHON] [CONSTRAINTS]   (run from the repository root;
#   defaults .venv/bin/python and constraints.txt)
# Idempotent: does nothing when horovod.tensorflow already imports. A horovod that is installed
# but does not import (e.g. built against another TensorFlow) is uninstalled and rebuilt.
# Built wheels are kept in $OPEN_S2S_WHEEL_CACHE (default ~/.cache/open_s2s/wheels), keyed by
# Horovod, TensorFlow and Python versions and the patch's checksum, so a second venv of the same
# stack (a fresh clone, CI) installs in seconds; a cached wheel that does not import is deleted
# and rebuilt. OPEN_S2S_WHEEL_CACHE= (empty) turns the cache off.
set -euo pipefail
PY="${1:-.venv/bin/python}"
CONSTRAINTS="${2:-constraints.txt}"
VERSION=0.28.1
PATCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/patches/horovod-$VERSION-tf2.21.patch"
die() { echo "install_horovod: $*" >&2; exit 1; }

if "$PY" -c "import horovod.tensorflow" 2>/dev/null; then
    exit 0
fi
command -v cmake >/dev/null && command -v g++ >/dev/null ||
    die "cmake and g++ are needed (apt-get install cmake g++)"
[ -f "$CONSTRAINTS" ] || die "constraints file $CONSTRAINTS not found (run from the repository root)"
tf_err=$(mktemp)
TF_VERSION=$(TF_CPP_MIN_LOG_LEVEL=3 "$PY" -c "import tensorflow as tf; print(tf.__version__)" 2>"$tf_err") || {
    cat "$tf_err" >&2; rm -f "$tf_err"
    die "TensorFlow does not import with $PY (install the requirements first)"; }
rm -f "$tf_err"
NEEDS_PATCH=$("$PY" -c "import sys; v = sys.argv[1].split('.'); print(int((int(v[0]), int(v[1])) >= (2, 18)))" \
    "$TF_VERSION" 2>/dev/null) || die "cannot parse the TensorFlow version '$TF_VERSION'"

if "$PY" -m pip show -q horovod 2>/dev/null; then
    echo "install_horovod: horovod is installed but horovod.tensorflow does not import; rebuilding it"
    "$PY" -m pip uninstall -q -y horovod || die "pip could not uninstall the broken horovod"
fi

PY_TAG=$("$PY" -c "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}')")
PATCH_SUM=none
if [ "$NEEDS_PATCH" = 1 ] && [ -f "$PATCH" ]; then PATCH_SUM=$(sha256sum "$PATCH" | cut -c1-12); fi
CACHE_ROOT="${OPEN_S2S_WHEEL_CACHE-$HOME/.cache/open_s2s/wheels}"
CACHE=""
[ -n "$CACHE_ROOT" ] && CACHE="$CACHE_ROOT/horovod-$VERSION-tf$TF_VERSION-$PY_TAG-patch-$PATCH_SUM"

imports() { "$PY" -c "import horovod, horovod.tensorflow; print('horovod', horovod.__version__, 'imports')"; }

if [ -n "$CACHE" ] && compgen -G "$CACHE/horovod-*.whl" >/dev/null; then
    wheel=$(compgen -G "$CACHE/horovod-*.whl" | head -n1)
    echo "install_horovod: installing the wheel built earlier for TensorFlow $TF_VERSION ($wheel)"
    if "$PY" -m pip install -q --no-cache-dir -c "$CONSTRAINTS" "$wheel" && imports; then
        exit 0
    fi
    echo "install_horovod: the cached wheel does not work here; deleting it and building from source"
    "$PY" -m pip uninstall -q -y horovod || true
    rm -rf "$CACHE"
fi

# --no-cache-dir: pip's wheel cache keys a built wheel by the sdist's URL, not by the TensorFlow it
# was compiled against, so it would reinstall a Horovod built for another venv's TensorFlow.
FLAGS=(-q --no-cache-dir --no-build-isolation -c "$CONSTRAINTS")
export HOROVOD_WITH_TENSORFLOW=1 HOROVOD_WITHOUT_PYTORCH=1 HOROVOD_WITHOUT_MXNET=1 HOROVOD_WITH_GLOO=1
work=$(mktemp -d "${TMPDIR:-/tmp}/horovod-$VERSION.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ "$NEEDS_PATCH" = 0 ]; then
    echo "building Horovod $VERSION from source against TensorFlow $TF_VERSION (about 3 minutes)..."
    source="horovod==$VERSION"
else
    command -v patch >/dev/null || die "patch is needed to build Horovod on TensorFlow $TF_VERSION (apt-get install patch)"
    [ -f "$PATCH" ] || die "$PATCH not found"
    echo "building Horovod $VERSION from source against TensorFlow $TF_VERSION, patched (about 3 minutes)..."
    "$PY" -m pip download -q --no-cache-dir --no-deps --no-build-isolation --no-binary :all: -d "$work" \
        "horovod==$VERSION" || die "pip could not download the horovod==$VERSION sdist"
    tar -xzf "$work/horovod-$VERSION.tar.gz" -C "$work" || die "could not unpack $work/horovod-$VERSION.tar.gz"
    patch -p1 --batch --forward -s -d "$work/horovod-$VERSION" <"$PATCH" ||
        die "$PATCH does not apply to the horovod-$VERSION sdist"
    source="$work/horovod-$VERSION"
fi
"$PY" -m pip wheel "${FLAGS[@]}" --no-deps -w "$work/wheel" "$source" ||
    die "pip could not build horovod $VERSION against TensorFlow $TF_VERSION"
wheel=$(compgen -G "$work/wheel/horovod-*.whl" | head -n1) || die "pip built no horovod wheel"
"$PY" -m pip install "${FLAGS[@]}" "$wheel" || die "pip could not install $wheel"
imports || die "horovod $VERSION installed but horovod.tensorflow does not import"
if [ -n "$CACHE" ]; then  # only a wheel that imports is kept
    mkdir -p "$CACHE" && cp "$wheel" "$CACHE/" && echo "install_horovod: kept the wheel in $CACHE" ||
        echo "install_horovod: could not keep the wheel in $CACHE (building again next time)"
fi
