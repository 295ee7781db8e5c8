#!/bin/bash
# The arm64 -dev libraries a cross-built (static) aarch64 ktvm links, unpacked
# into DIR (default build/aarch64-deps) without installing them: libfdt-dev
# cannot be co-installed for amd64 and arm64 (it is not Multi-Arch: same), so
# multiarch installs would replace the host's own.  Needs dpkg's arm64
# architecture (added here if missing, with an apt-get update).
set -euo pipefail
DIR=${1:-build/aarch64-deps}
PKGS=(libfdt-dev libfdt1 zlib1g-dev zlib1g libjson-c-dev libjson-c5 libseccomp-dev libseccomp2
      libcap-dev libcap2 libpcap0.8-dev libpcap0.8 libdbus-1-dev libdbus-1-3)

dpkg --print-foreign-architectures | grep -qx arm64 || {
	echo "cross-deps: adding dpkg architecture arm64" >&2
	dpkg --add-architecture arm64
	apt-get update -qq
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp" # apt downloads as user _apt
# Say what comes and about how much (the first cross build; cached after).
size_of() { apt-cache show --no-all-versions "${PKGS[@]/%/:arm64}" 2>/dev/null | awk '/^Size:/ { s += $2 } END { printf "%d", s / 1048576 + 0.5 }'; }
echo "cross-deps: downloading ${#PKGS[@]} arm64 library packages, about $(size_of) MiB, into $DIR (once)" >&2
if ! (cd "$tmp" && apt-get download -qq "${PKGS[@]/%/:arm64}" >"$tmp/log" 2>&1); then
	apt-get update -qq
	(cd "$tmp" && apt-get download -qq "${PKGS[@]/%/:arm64}") || {
		echo "cross-deps: apt-get download failed" >&2
		exit 1
	}
fi
rm -rf "$DIR"
mkdir -p "$DIR"
for deb in "$tmp"/*.deb; do
	dpkg -x "$deb" "$DIR"
done
touch "$DIR/stamp"
echo "cross-deps: ${PKGS[*]} (arm64) in $DIR" >&2
