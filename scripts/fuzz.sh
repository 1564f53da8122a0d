#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make fuzz: build the libFuzzer harnesses with clang (-Dfuzzing=true) and run
# each for SECONDS, starting from its committed corpus. New inputs go to
# build-fuzz/corpus/NAME (not into the committed corpus: minimise and copy by hand).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz -Dfuzzing=true -Dtests=false -Db_lundef=false >/dev/null
fi
meson compile -C build-fuzz
for exe in build-fuzz/fuzz/fuzz-*; do
	[ -x "$exe" ] || continue
	name=${exe##*/fuzz-}
	mkdir -p "build-fuzz/corpus/$name"
	echo "== $name: $secs s"
	"$exe" -max_total_time="$secs" -print_final_stats=1 "build-fuzz/corpus/$name" "fuzz/corpus/$name"
done
