#!/bin/bash
# Build the outer machine's initramfs: busybox-static, the kernel modules the
# venue needs (with their dependencies, in load order) and outer-init.
#   build/e2e/outer/initrd.cpio.gz
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$E2E_SRC/fetch-kernel.sh"
KDIR=$E2E_BUILD/kernel
REL=$(cat "$KDIR/VERSION")
MODDIR=$KDIR/modules/lib/modules/$REL
OUT=$E2E_BUILD/outer
STAMP=$(cat "$E2E_SRC/outer-init" "$0" "$KDIR/VERSION" | sha256sum | cut -c1-16)
[[ -s $OUT/initrd.cpio.gz && $(cat "$OUT/stamp" 2>/dev/null) == "$STAMP" ]] && exit 0
ensure_packages

# Wanted: virtio PCI + 9p (host's /), overlay (writable view), KVM for AMD
# (the emulated CPU is EPYC-Rome with SVM), and tun/vhost_net for network tests.
WANT="virtio_pci 9pnet_virtio 9p overlay kvm_amd tun vhost_net"

declare -A path_of=() done_=()
while read -r f; do
	n=$(basename "$f")
	n=${n%%.ko*}
	path_of[${n//-/_}]=$f
done < <(find "$MODDIR/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst')

order=()
visit() { # depth-first: dependencies before the module itself
	local n=${1//-/_} d
	[[ -n ${done_[$n]:-} ]] && return 0
	done_[$n]=1
	[[ -n ${path_of[$n]:-} ]] || die "module $n not found in $MODDIR"
	for d in $(modinfo -F depends "${path_of[$n]}" | tr ',' ' '); do visit "$d"; done
	# kvm_amd uses ccp's PSP interface through a symbol_get(), not a hard dependency
	[[ $n == kvm_amd && -n ${path_of[ccp]:-} ]] && visit ccp
	order+=("$n")
}
for m in $WANT; do visit "$m"; done

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
root=$TMP/root
mkdir -p "$root"/{bin,dev,proc,sys,mnt,modules}
cp "$(dpkg -L busybox-static | grep -m1 '/bin/busybox$')" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
	[[ $applet == busybox ]] || ln -sf busybox "$root/bin/$applet"
done
for n in "${order[@]}"; do
	f=${path_of[$n]}
	# busybox insmod wants plain .ko: decompress here once.
	case $f in
	*.xz) xz -dc "$f" >"$root/modules/$n.ko" ;;
	*.zst) zstd -qdc "$f" >"$root/modules/$n.ko" ;;
	*) cp "$f" "$root/modules/$n.ko" ;;
	esac
done
printf '%s\n' "${order[@]}" >"$root/modules.list"
install -m 755 "$E2E_SRC/outer-init" "$root/init"

mkdir -p "$OUT"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$TMP/initrd.cpio.gz"
mv "$TMP/initrd.cpio.gz" "$OUT/initrd.cpio.gz"
echo "$STAMP" >"$OUT/stamp"
log "outer initrd ready (modules: ${order[*]})"
