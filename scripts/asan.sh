#!/usr/bin/env bash
# The compiled parts (detr_watch/_jsonrows.c, the log.txt reader; detr_watch/_readblock.c, the
# tailer's read) under AddressSanitizer and UBSan: builds each with the sanitizers into a scratch
# folder, puts those builds in place of the installed ones for the run of their tests, and puts the
# installed ones back. Run it after changing a C file:
#
#     bash scripts/asan.sh            (about two minutes; needs gcc and its libasan)
#
# PYTHONMALLOC=malloc sends every object through malloc, so a read past the end of a bytes object
# lands in a red zone instead of inside a pymalloc pool; --capture=sys lets its report reach stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
suffix=$(python -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
include=$(python -c "import sysconfig; print(sysconfig.get_paths()['include'])")
modules=(_jsonrows _readblock)
for m in "${modules[@]}"; do
    [ -f "detr_watch/$m$suffix" ] || { echo "error: detr_watch/$m$suffix is not built"; echo "hint: pip install -e \".[dev]\""; exit 1; }
done
scratch=$(mktemp -d)
restore() {
    for m in "${modules[@]}"; do cp "$scratch/$m.installed" "detr_watch/$m$suffix"; done
    rm -rf "$scratch"
}
trap restore EXIT
for m in "${modules[@]}"; do
    cp "detr_watch/$m$suffix" "$scratch/$m.installed"
    gcc -shared -fPIC -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
        -fno-omit-frame-pointer -I"$include" "detr_watch/$m.c" -o "$scratch/$m.asan"
done
for m in "${modules[@]}"; do cp "$scratch/$m.asan" "detr_watch/$m$suffix"; done
PYTHONMALLOC=malloc ASAN_OPTIONS=detect_leaks=0 \
    LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
    python -m pytest -q -p no:randomly --capture=sys tests/test_jsonrows.py tests/test_detr_json_bulk.py \
    tests/test_readblock.py tests/test_tail.py
