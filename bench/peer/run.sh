#!/bin/sh
# Side-by-side speed of glekit's training step and a PyTorch peer (both weight-gradient
# variants, torch on 1 and 2 threads), in one run. See bench/peer/README.md.
#
#   bench/peer/run.sh [OUT.json] [compare.py options: --rounds N --seconds S --repeats R --quick]
#
# Not part of `npm test` or CI. Needs python3-torch with OpenBLAS (README.md).
set -eu
cd "$(dirname "$0")/../.."

OUT=${1:-bench/results/peer-$(date +%F).json}
[ $# -gt 0 ] && shift

# Debian's torch lives in the system python; a pyenv or venv python3 earlier on PATH lacks it.
PY=${PYTHON:-/usr/bin/python3}
"$PY" -c 'import torch' 2>/dev/null || {
  echo "PyTorch is missing: apt-get install -y python3-torch libopenblas0-openmp" >&2
  exit 1
}

# Debian's python3-torch takes BLAS through the libblas.so.3 alternative; the netlib
# reference BLAS there makes the peer 20x slower than it need be. Refuse to run on it.
BLAS=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
case "$BLAS" in
  *openblas*) ;;
  *)
    echo "libblas.so.3 -> $BLAS is not OpenBLAS. Install libopenblas0-openmp, or switch with" >&2
    echo "  update-alternatives --set libblas.so.3-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3" >&2
    exit 1
    ;;
esac

[ -f dist/bench/run.js ] || npm run build

mkdir -p "$(dirname "$OUT")"
exec "$PY" bench/peer/compare.py --out "$OUT" "$@"
