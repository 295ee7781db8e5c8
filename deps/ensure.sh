#!/usr/bin/env bash
# deps/ensure.sh GROUP...: make sure the Debian packages of these groups
# (deps/packages.txt) are installed.
#   - all there: silent, status 0 (one dpkg-query, ~20 ms: cheap enough to
#     run before every build);
#   - missing, as root: one apt-get update at most (only if the install needs
#     it), then apt-get install, with what it downloads and about how much and
#     a line per package fetched;
#   - missing, not root: one line with the exact apt-get command, status 2.
# DEPS_DRY_RUN=1 prints what it would install and stops (status 0); tests use
# PATH to put fake dpkg-query/apt-get/id in front (tests/deps/test.sh).
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
list=${DEPS_LIST:-$here/packages.txt}
say() { printf 'deps: %s\n' "$*" >&2; }

(($# > 0)) || { say "usage: deps/ensure.sh GROUP..."; exit 2; }
want=()
for g in "$@"; do
	line=$(grep -E "^$g:" "$list") || { say "unknown group '$g' (see $list)"; exit 2; }
	read -ra pk <<<"${line#*:}"
	want+=("${pk[@]}")
done
# Unique, order kept.
mapfile -t want < <(printf '%s\n' "${want[@]}" | awk '!seen[$0]++')

# One query for all of them; a package dpkg never heard of prints nothing.
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${want[@]}" 2>/dev/null |
	awk '$NF == "installed" && $(NF-1) == "ok" { sub(/:.*/, "", $1); print $1 }')
missing=()
for p in "${want[@]}"; do
	grep -qxF "$p" <<<"$installed" || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) != 0 ]]; then
	printf 'deps: missing Debian packages; as root run: %s\n' "$cmd" >&2
	exit 2
fi
[[ ${DEPS_DRY_RUN:-0} == 1 ]] && { say "would run: $cmd"; exit 0; }

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
# What will be fetched: URI lines of --print-uris carry each file's size.
plan() { apt-get "${apt_opts[@]}" install -qq --print-uris --no-install-recommends "${missing[@]}" 2>/dev/null; }
uris=$(plan) || {
	# The lists are missing or stale (a fresh machine): one update, then again.
	say "apt-get update (package lists)"
	apt-get "${apt_opts[@]}" update -qq >/dev/null || { say "apt-get update failed"; exit 1; }
	uris=$(plan) || { say "cannot install: $cmd (apt-get says: $(apt-get install -s "${missing[@]}" 2>&1 | tail -n 1))"; exit 1; }
}
n=$(grep -c "^'" <<<"$uris")
kb=$(awk "/^'/ { s += \$3 } END { printf \"%d\", s / 1024 }" <<<"$uris")
say "installing ${missing[*]}"
if ((n > 0)); then say "downloading $n files, about $((kb / 1024)) MiB"; else say "nothing to download (all in apt's cache)"; fi
# A line per file fetched (apt's own "Get:" lines carry the mirror; show the
# package and its size only).
apt-get "${apt_opts[@]}" install -y -q --no-install-recommends "${missing[@]}" 2>&1 |
	awk -v n="$n" '
	/^Get:/ { i++; printf "deps: [%d/%d] %s %s %s %s\n", i, n, $(NF-4), $(NF-2), $(NF-1), $NF; fflush(); next }
	/^(E|W):/ { print "deps: " $0; fflush() }' >&2
st=${PIPESTATUS[0]}
((st == 0)) || { say "apt-get install failed (status $st): $cmd"; exit 1; }
say "installed ${#missing[@]} packages"
