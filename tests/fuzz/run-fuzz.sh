#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Installed as build/tests/unit/test_fuzz_assist: runs the libFuzzer target
# build/fuzz/fuzz_assist for NVMM_FUZZ_SECONDS (default 60) seconds from the
# seed corpus and prints one TAP result. A crash, a sanitizer report or a
# broken invariant fails it (the diagnostic follows as TAP comments).
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
bin=$top/build/fuzz/fuzz_assist
seeds=$top/tests/fuzz/corpus
secs=${NVMM_FUZZ_SECONDS:-60}

echo "TAP version 13"
echo "1..1"
if [ ! -x "$bin" ]; then
	echo "not ok 1 fuzz_assist"
	echo "# $bin is missing: make tests"
	exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
cp "$seeds"/* "$work/corpus/" 2>/dev/null

ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	"$bin" -max_total_time="$secs" -max_len=4096 -timeout=10 \
	-rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$work/" "$work/corpus" >"$work/log" 2>&1
rc=$?
runs=$(grep -aoE 'stat::number_of_executed_units: *[0-9]+' "$work/log" |
	grep -oE '[0-9]+$')
if [ "$rc" = 0 ]; then
	echo "ok 1 fuzz_assist"
	echo "# ${runs:-?} inputs in ${secs} s, no crash"
	exit 0
fi
echo "not ok 1 fuzz_assist"
echo "# libFuzzer exited with status $rc after ${runs:-?} inputs"
grep -aE 'ERROR|SUMMARY|runtime error|deadly|Test unit written|^ *#[0-9]+ ' \
	"$work/log" | head -40 | sed 's/^/# /'
for f in "$work"/crash-* "$work"/timeout-* "$work"/oom-*; do
	[ -f "$f" ] || continue
	echo "# input: $(basename "$f"): $(od -An -tx1 -v "$f" | head -8 | tr -s ' \n' ' ')"
	mkdir -p "$top/build/fuzz/artifacts"
	cp "$f" "$top/build/fuzz/artifacts/"
done
exit 1
