#!/bin/bash
# Fetch Debian's own x86_64 kernel (linux-image-amd64 -> linux-image-6.1.0-NN-amd64)
# into build/e2e/kernel/ without installing it: apt-get download + dpkg -x.
# Produces:
#   vmlinuz      the bzImage (inner guest format 1)
#   vmlinux      ELF extracted from the bzImage's xz stream; PVH-capable, so the
#                outer QEMU boots it in ~3 s instead of minutes through SeaBIOS,
#                and it is inner guest format 2
#   System.map, config, VERSION (kernel release), modules/ (lib/modules/<rel>)
# Cached: does nothing when kernel/ is complete. --refresh re-fetches.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# --kernel 6.12: Debian's newer kernel for this release line, from
# bookworm-backports (a private apt configuration for the download only; see
# suite_apt in lib.sh), into build/e2e/kernel-6.12/.  The default is the
# release's own kernel (6.1) in build/e2e/kernel/.
kver=6.1 refresh=''
while (($#)); do
	case $1 in
	--refresh) refresh=1; shift ;;
	--kernel) kver=$2; shift 2 ;;
	*) die "fetch-kernel.sh: unknown argument $1" ;;
	esac
done
case $kver in
6.1) OUT=$E2E_BUILD/kernel ;;
6.12) OUT=$E2E_BUILD/kernel-6.12 ;;
*) die "fetch-kernel.sh: --kernel 6.1 or 6.12" ;;
esac
[[ -n $refresh ]] && rm -rf "$OUT"
if [[ -s $OUT/vmlinux && -s $OUT/vmlinuz && -s $OUT/VERSION && -d $OUT/modules ]]; then
	exit 0
fi
ensure_packages
if [[ $kver == 6.12 ]]; then
	APT_CONFIG=$(suite_apt "$(. /etc/os-release && echo "$VERSION_CODENAME")-backports")
	export APT_CONFIG
fi

# The meta package names the current ABI package; ask apt (no install).
pkg_of_meta() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'; }
PKG=$(pkg_of_meta)
if [[ -z $PKG ]]; then
	apt-get update -qq >/dev/null 2>&1 || true
	PKG=$(pkg_of_meta)
fi
[[ -n $PKG ]] || die "cannot resolve linux-image-amd64 (apt-get update?)"
REL=${PKG#linux-image-}

TMP=$(mktemp -d "$E2E_BUILD/.kernel.XXXXXX" 2>/dev/null || { mkdir -p "$E2E_BUILD" && mktemp -d "$E2E_BUILD/.kernel.XXXXXX"; })
trap 'rm -rf "$TMP"' EXIT
chmod 755 "$TMP" # apt drops to user _apt for downloads
progress "Debian's x86_64 kernel $kver ($PKG) into $OUT (once; cached)"
download_debs "$TMP" "$PKG"
dpkg -x "$TMP"/*.deb "$TMP/root"

mkdir -p "$TMP/out"
cp "$TMP/root/boot/vmlinuz-$REL" "$TMP/out/vmlinuz"
cp "$TMP/root/boot/System.map-$REL" "$TMP/out/System.map"
cp "$TMP/root/boot/config-$REL" "$TMP/out/config"
mkdir -p "$TMP/out/modules/lib"
mv "$TMP/root/lib/modules" "$TMP/out/modules/lib/"
echo "$REL" >"$TMP/out/VERSION"

# vmlinux: the bzImage carries the kernel as one compressed stream after the
# setup code and decompressor (xz for 6.1, zstd for 6.12). Try each magic of
# each until one decompresses to an ELF.
found=
try_stream() { # MAGIC_REGEX DECOMPRESSOR...
	local magic=$1 off
	shift
	while read -r off; do
		# tail dies of SIGPIPE once the decompressor has its stream: ignore its status.
		if { tail -c +$((off + 1)) "$TMP/out/vmlinuz" || true; } | "$@" >"$TMP/out/vmlinux" 2>/dev/null ||
			[[ -s $TMP/out/vmlinux ]]; then
			if [[ $(head -c 4 "$TMP/out/vmlinux" | od -An -c | tr -d ' ') == 177ELF ]]; then
				found=1
				return 0
			fi
		fi
	done < <(LC_ALL=C grep -obUaP "$magic" "$TMP/out/vmlinuz" | cut -d: -f1)
	return 1
}
try_stream '\xfd7zXZ\x00' xz -dc --single-stream || try_stream '\x28\xb5\x2f\xfd' zstd -dcq
[[ -n $found ]] || die "no xz-compressed ELF found in vmlinuz-$REL"
# PVH entry point note (Xen ELF note type 18) is what lets QEMU boot it directly.
grep -q '^CONFIG_PVH=y' "$TMP/out/config" || die "kernel $REL lacks CONFIG_PVH"

rm -rf "$OUT"
mv "$TMP/out" "$OUT"
log "kernel $REL ready in $OUT"
