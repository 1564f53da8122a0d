#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make bench: run every benchmark (each writes bench/results/NAME.json).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bench/audio-backends.sh "$build"
