#!/usr/bin/env bash
# The compiled log.txt reader (detr_watch/_jsonrows.c) under AddressSanitizer and UBSan: builds it
# with the sanitizers into a scratch folder, puts that build in place of the installed one for the
# run of its tests, and puts the installed one back. Run it after changing the C file:
#
#     bash scripts/asan_jsonrows.sh            (about two minutes; needs gcc and its libasan)
#
# PYTHONMALLOC=malloc sends every object through malloc, so a read past the end of a bytes object
# lands in a red zone instead of inside a pymalloc pool; --capture=sys lets its report reach stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
suffix=$(python -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
include=$(python -c "import sysconfig; print(sysconfig.get_paths()['include'])")
target="detr_watch/_jsonrows$suffix"
[ -f "$target" ] || { echo "error: $target is not built"; echo "hint: pip install -e \".[dev]\""; exit 1; }
scratch=$(mktemp -d)
trap 'cp "$scratch/installed.so" "$target"; rm -rf "$scratch"' EXIT
cp "$target" "$scratch/installed.so"
gcc -shared -fPIC -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
    -fno-omit-frame-pointer -I"$include" detr_watch/_jsonrows.c -o "$scratch/asan.so"
cp "$scratch/asan.so" "$target"
PYTHONMALLOC=malloc ASAN_OPTIONS=detect_leaks=0 \
    LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
    python -m pytest -q -p no:randomly --capture=sys tests/test_jsonrows.py tests/test_detr_json_bulk.py
