#!/bin/bash
# Build the inner guest's initramfs (cpio newc, gzip) from Debian's busybox-static:
#   build/e2e/guest/initrd.cpio.gz  and  payload.sha256 (expected checksum of
#   /payload.bin, the known file whose checksum proves the initrd arrived intact).
#   build/e2e/guest/initrd-net.cpio.gz: the same with a second cpio archive
#   appended (the kernel unpacks concatenated archives): the virtio-net and
#   pvpanic modules (insmod'ed in dependency order by guest-init, /modules.list)
#   and iperf3, ethtool and iputils ping with their shared libraries. Kept
#   apart so the boot cases and boot-time figures do not pay for ~2 MB more.
# Rebuilt only when guest-init, this script or the copied programs changed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# --kernel 6.12: the same for Debian's 6.12 (build/e2e/kernel-6.12 ->
# build/e2e/guest-6.12); the default is the release's 6.1.
kver=6.1
[[ ${1:-} == --kernel ]] && { kver=$2; shift 2; }
case $kver in
6.1) OUT=$E2E_BUILD/guest KDIR=$E2E_BUILD/kernel ;;
6.12) OUT=$E2E_BUILD/guest-6.12 KDIR=$E2E_BUILD/kernel-6.12 ;;
*) die "build-guest-initrd.sh: --kernel 6.1 or 6.12" ;;
esac
# Programs for the network cases (group e2e of deps/packages.txt), as /usr/bin/NAME in the guest.
NET_PROGS=(/usr/bin/iperf3 /usr/sbin/ethtool /usr/bin/ping)
# Guest modules: these and their dependencies (modinfo -F depends).
NET_MODULES="virtio_pci virtio_net pvpanic_pci"

stamp() {
	{
		cat "$E2E_SRC/guest-init" "$0" "$KDIR/VERSION" 2>/dev/null
		for p in "${NET_PROGS[@]}"; do stat -c '%n %s %Y' "$p" 2>/dev/null; done
	} | sha256sum | cut -c1-16
}
STAMP=$(stamp)
[[ -s $OUT/initrd.cpio.gz && -s $OUT/initrd-net.cpio.gz && $(cat "$OUT/stamp" 2>/dev/null) == "$STAMP" ]] && exit 0
ensure_packages
"$E2E_SRC/fetch-kernel.sh" --kernel "$kver"
STAMP=$(stamp)

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
root=$TMP/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc,root}
# Debian's statically linked busybox: nothing else needed in the guest.
cp "$(dpkg -L busybox-static | grep -m1 '/bin/busybox$')" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
	[[ $applet == busybox ]] || ln -sf busybox "$root/bin/$applet"
done
ln -s bin "$root/sbin"
install -m 755 "$E2E_SRC/guest-init" "$root/init"
# 256 KiB of incompressible data: a corrupted or truncated initrd load shows up.
head -c 262144 /dev/urandom >"$root/payload.bin"
sha256sum "$root/payload.bin" | cut -d' ' -f1 >"$root/payload.sha256"
# No real init runs here: make poweroff/reboot act at once instead of signalling PID 1.
printf '%s\n' 'export PS1="guest# "' "alias poweroff='poweroff -f' reboot='reboot -f' halt='poweroff -f'" >"$root/etc/profile"

mkcpio() { # DIR OUT.gz
	(cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 >"$2"
}

# --- The network add-on archive ---
net=$TMP/net
mkdir -p "$net/usr/bin" "$net/modules" "$net/etc"
REL=$(cat "$KDIR/VERSION")
MODDIR=$KDIR/modules/lib/modules/$REL
declare -A path_of=() done_=()
while read -r f; do
	n=$(basename "$f")
	n=${n%%.ko*}
	path_of[${n//-/_}]=$f
done < <(find "$MODDIR/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst')
order=()
# Built into the kernel (6.12 has virtio and virtio_pci built in): nothing to load.
declare -A builtin_=()
while read -r f; do
	n=$(basename "$f")
	n=${n%.ko}
	builtin_[${n//-/_}]=1
done < <(cat "$MODDIR/modules.builtin" 2>/dev/null)
visit() { # depth-first: dependencies before the module itself
	local n=${1//-/_} d
	[[ -n ${done_[$n]:-} ]] && return 0
	done_[$n]=1
	[[ -n ${builtin_[$n]:-} ]] && return 0
	[[ -n ${path_of[$n]:-} ]] || die "module $n not found in $MODDIR"
	for d in $(modinfo -F depends "${path_of[$n]}" | tr ',' ' '); do visit "$d"; done
	order+=("$n")
}
for m in $NET_MODULES; do visit "$m"; done
for n in "${order[@]}"; do
	f=${path_of[$n]}
	case $f in # busybox insmod wants plain .ko
	*.xz) xz -dc "$f" >"$net/modules/$n.ko" ;;
	*.zst) zstd -qdc "$f" >"$net/modules/$n.ko" ;;
	*) cp "$f" "$net/modules/$n.ko" ;;
	esac
done
printf '%s\n' "${order[@]}" >"$net/modules.list"
# Programs and their libraries (ldd), at the same paths as here; the busybox
# ping applet stays as /bin/ping, iputils' (for -M do) is /usr/bin/iping.
for p in "${NET_PROGS[@]}"; do
	[[ -x $p ]] || die "$p missing (deps/packages.txt, group e2e)"
	b=$(basename "$p")
	[[ $b == ping ]] && b=iping
	cp -L "$p" "$net/usr/bin/$b"
	for lib in $(ldd "$p" | awk '/=> \// {print $3} /^\t\/[^ ]* \(/ {print $1}'); do
		mkdir -p "$net$(dirname "$lib")"
		cp -L "$lib" "$net$lib"
	done
done
# iperf3 -s wants a writable /tmp (exists) and resolves nothing.
echo 'root:x:0:0:root:/root:/bin/sh' >"$net/etc/passwd"

mkdir -p "$OUT"
mkcpio "$root" "$TMP/initrd.cpio.gz"
mkcpio "$net" "$TMP/net.cpio.gz"
cat "$TMP/initrd.cpio.gz" "$TMP/net.cpio.gz" >"$TMP/initrd-net.cpio.gz"
mv "$TMP/initrd.cpio.gz" "$OUT/initrd.cpio.gz"
mv "$TMP/initrd-net.cpio.gz" "$OUT/initrd-net.cpio.gz"
cp "$root/payload.sha256" "$OUT/payload.sha256"
echo "$STAMP" >"$OUT/stamp"
log "guest initrd ready: $OUT/initrd.cpio.gz ($(stat -c %s "$OUT/initrd.cpio.gz") bytes), initrd-net.cpio.gz ($(stat -c %s "$OUT/initrd-net.cpio.gz") bytes; modules: ${order[*]})"
