#!/bin/bash
# Everything the arm64 venue needs, under build/e2e/arm64/ (cached by stamp):
#   Image            Debian's arm64 kernel (linux-image-arm64; KVM built in),
#                    both the outer host's and the inner guest's
#   outer.cpio.gz    busybox-static:arm64 + outer-init + 9p/tun modules
#   guest.cpio.gz    busybox-static:arm64 + tests/e2e/guest-init + payload +
#                    virtio_mmio/virtio_net modules (modules.list, load order)
#   guest-tools.cpio.gz  iperf3 and ethtool (arm64, dynamically linked) with
#                    their glibc libraries and loader; cases.sh appends it to
#                    guest.cpio.gz for the network cases only. The outer
#                    initramfs has the same files (the TAP's host side).
# Packages come from Debian for architecture arm64 (apt-get download + dpkg -x,
# nothing installed); dpkg's arm64 architecture is added if missing.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
A_SRC=$E2E_SRC/arm64
# --kernel 6.12: only the inner guest's files (Image, guest*.cpio.gz) for
# Debian's 6.12 from bookworm-backports, into build/e2e/arm64-6.12/; the outer
# machine keeps 6.1.
kver=6.1
[[ ${1:-} == --kernel ]] && { kver=$2; shift 2; }
case $kver in
6.1) OUT=$E2E_BUILD/arm64 ;;
6.12) OUT=$E2E_BUILD/arm64-6.12 ;;
*) die "prepare.sh: --kernel 6.1 or 6.12" ;;
esac
OUTER_MODULES="9pnet_virtio 9p tun virtio_pci"
GUEST_MODULES="virtio_mmio virtio_net"

stamp() { cat "$A_SRC/outer-init" "$E2E_SRC/guest-init" "$0" 2>/dev/null | sha256sum | cut -c1-16; }
[[ -s $OUT/Image && ( $kver != 6.1 || -s $OUT/outer.cpio.gz ) && -s $OUT/guest.cpio.gz && -s $OUT/guest-tools.cpio.gz &&
	$(cat "$OUT/stamp" 2>/dev/null) == "$(stamp)" ]] && exit 0

dpkg --print-foreign-architectures | grep -qx arm64 || {
	[[ $(id -u) == 0 ]] || die "dpkg has no arm64 architecture (run as root once)"
	dpkg --add-architecture arm64
	apt-get update -qq >/dev/null
}
# The kernel of 6.12 comes from backports (a private apt configuration, for
# the kernel's download only); busybox and the tools from the release.
kapt=()
if [[ $kver == 6.12 ]]; then
	kapt=(env "APT_CONFIG=$(suite_apt "$(. /etc/os-release && echo "$VERSION_CODENAME")-backports")")
fi
mkdir -p "$OUT"
TMP=$(mktemp -d "$OUT/.prep.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
chmod 755 "$TMP" # apt downloads as user _apt
kpkg() { "${kapt[@]}" apt-cache depends linux-image-arm64:arm64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'; }
PKG=$(kpkg)
[[ -n $PKG ]] || { apt-get update -qq >/dev/null 2>&1 || true; PKG=$(kpkg); }
[[ -n $PKG ]] || die "cannot resolve linux-image-arm64:arm64"
PKG=${PKG%:arm64}
# iperf3/ethtool and the packages of their libraries (apt-cache depends; the
# libraries actually copied are the ELF NEEDED closure, see tools_root).
TOOL_PKGS=(iperf3 libiperf0 libsctp1 libssl3 ethtool libmnl0 libc6)
progress "Debian's arm64 kernel $kver ($PKG), busybox and guest tools into $OUT (once; cached)"
if ((${#kapt[@]})); then
	(export "${kapt[1]?}" && download_debs "$TMP" "$PKG:arm64")
	download_debs "$TMP" busybox-static:arm64 "${TOOL_PKGS[@]/%/:arm64}"
else
	download_debs "$TMP" "$PKG:arm64" busybox-static:arm64 "${TOOL_PKGS[@]/%/:arm64}"
fi
for d in "$TMP"/*.deb; do dpkg -x "$d" "$TMP/x"; done
REL=${PKG#linux-image-}
cp "$TMP/x/boot/vmlinuz-$REL" "$TMP/Image"
MODDIR=$TMP/x/lib/modules/$REL
BUSYBOX=$TMP/x/bin/busybox

declare -A path_of=()
while read -r f; do
	n=$(basename "$f")
	n=${n%%.ko*}
	path_of[${n//-/_}]=$f
done < <(find "$MODDIR/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst')
# modules ROOT NAMES...: copy NAMES with their dependencies (depth first) to ROOT/modules
modules() {
	local root=$1 n
	shift
	declare -A done_=() builtin_=()
	order=()
	# Built into the kernel (6.12: virtio_mmio): nothing to load.
	while read -r f; do
		f=$(basename "$f")
		f=${f%.ko}
		builtin_[${f//-/_}]=1
	done < <(cat "$MODDIR/modules.builtin" 2>/dev/null)
	visit() {
		local n=${1//-/_} d
		[[ -n ${done_[$n]:-} ]] && return 0
		done_[$n]=1
		[[ -n ${builtin_[$n]:-} ]] && return 0
		[[ -n ${path_of[$n]:-} ]] || die "module $n not found"
		for d in $(modinfo -F depends "${path_of[$n]}" | tr ',' ' '); do visit "$d"; done
		order+=("$n")
	}
	for n in "$@"; do visit "$n"; done
	mkdir -p "$root/modules"
	for n in "${order[@]}"; do
		case ${path_of[$n]} in
		*.xz) xz -dc "${path_of[$n]}" >"$root/modules/$n.ko" ;;
		*.zst) zstd -qdc "${path_of[$n]}" >"$root/modules/$n.ko" ;;
		*) cp "${path_of[$n]}" "$root/modules/$n.ko" ;;
		esac
	done
	printf '%s\n' "${order[@]}" >"$root/modules.list"
}
busybox_root() { # ROOT
	mkdir -p "$1"/{bin,dev,proc,sys,tmp,etc,root,mnt}
	cp "$BUSYBOX" "$1/bin/busybox"
	# The applet list is busybox's own; it cannot run here: take it from its strings.
	for a in sh ash mount umount insmod mkdir cat echo sed grep awk tr cut head tail ls sleep \
		poweroff reboot timeout dd printf sha256sum ip ping devmem date wc rm cp mv ln \
		setsid cttyhack stty hostname uname env test [ kill chmod touch seq expr sync \
		ifconfig true false nproc; do
		ln -sf busybox "$1/bin/$a"
	done
	ln -s bin "$1/sbin"
}
# tools_root ROOT: /usr/bin/iperf3 and /usr/bin/ethtool, the shared libraries
# they need (readelf NEEDED, transitively) in /lib/aarch64-linux-gnu (a
# directory the loader searches without ld.so.cache) and the loader at
# /lib/ld-linux-aarch64.so.1, the path the programs ask for.
tools_root() {
	local root=$1 todo=() seen=" " f n lib
	mkdir -p "$root/usr/bin" "$root/lib/aarch64-linux-gnu" "$root/etc"
	cp "$TMP/x/usr/bin/iperf3" "$TMP/x/sbin/ethtool" "$root/usr/bin/"
	todo=("$root/usr/bin/iperf3" "$root/usr/bin/ethtool")
	while ((${#todo[@]})); do
		f=${todo[0]}
		todo=("${todo[@]:1}")
		for n in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			[[ $seen == *" $n "* ]] && continue
			seen+="$n "
			lib=$(ls "$TMP"/x/{usr/,}lib/aarch64-linux-gnu/"$n" 2>/dev/null | head -n1 || true)
			[[ -n $lib ]] || die "arm64 library $n (needed by $(basename "$f")) not in ${TOOL_PKGS[*]}"
			cp -L "$lib" "$root/lib/aarch64-linux-gnu/$n"
			todo+=("$root/lib/aarch64-linux-gnu/$n")
		done
	done
	[[ -e $root/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1 ]] ||
		cp -L "$TMP/x/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1" "$root/lib/aarch64-linux-gnu/"
	ln -sf aarch64-linux-gnu/ld-linux-aarch64.so.1 "$root/lib/ld-linux-aarch64.so.1"
	echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
}
mkcpio() { (cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -6 >"$2"; }

if [[ $kver == 6.1 ]]; then
	busybox_root "$TMP/outer"
	modules "$TMP/outer" $OUTER_MODULES
	tools_root "$TMP/outer"
	install -m 755 "$A_SRC/outer-init" "$TMP/outer/init"
	mkcpio "$TMP/outer" "$TMP/outer.cpio.gz"
fi

busybox_root "$TMP/guest"
modules "$TMP/guest" $GUEST_MODULES
install -m 755 "$E2E_SRC/guest-init" "$TMP/guest/init"
head -c 262144 /dev/urandom >"$TMP/guest/payload.bin"
sha256sum "$TMP/guest/payload.bin" | cut -d' ' -f1 >"$TMP/guest/payload.sha256"
cp "$TMP/guest/payload.sha256" "$TMP/payload.sha256"
mkcpio "$TMP/guest" "$TMP/guest.cpio.gz"
tools_root "$TMP/tools"
mkcpio "$TMP/tools" "$TMP/guest-tools.cpio.gz"

[[ $kver == 6.1 ]] && mv "$TMP/outer.cpio.gz" "$OUT/"
mv "$TMP/Image" "$TMP/guest.cpio.gz" "$TMP/guest-tools.cpio.gz" "$TMP/payload.sha256" "$OUT/"
echo "$REL" >"$OUT/VERSION"
stamp >"$OUT/stamp"
log "arm64 venue ready in $OUT ($REL)"
