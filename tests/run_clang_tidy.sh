#!/usr/bin/env bash
# tests/run_clang_tidy.sh -- COMPILER FLAGS... -- FILES...: clang-tidy with
# the checked-in .clang-tidy on each file, two at a time; fails if any file
# has a finding.  Prints "clang-tidy: N passed, N failed" (files).
set -u
cd "$(dirname "$0")/.."
[ "${1:-}" = "--" ] && shift
flags=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
	flags+=("$1")
	shift
done
[ $# -gt 0 ] && shift
tidy=$(command -v clang-tidy-14 || command -v clang-tidy)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%s\n' "$@" | xargs -P "$(nproc)" -I{} sh -c \
	'f="$1"; shift; if "$0" --quiet "$f" -- "$@" >"'"$out"'/$(echo "$f" | tr / _).log" 2>&1; then :; else echo "$f" >>"'"$out"'/failed"; fi' \
	"$tidy" {} "${flags[@]}"
total=$#
failed=0
if [ -f "$out/failed" ]; then
	failed=$(wc -l <"$out/failed")
	while read -r f; do
		grep -v '^[0-9]* warnings\? generated\|^Suppressed\|^Use -header-filter' \
			"$out/$(echo "$f" | tr / _).log"
		echo "FAIL clang-tidy $f"
	done <"$out/failed"
fi
echo "clang-tidy: $((total - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
