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

OUT=$E2E_BUILD/kernel
[[ ${1:-} == --refresh ]] && rm -rf "$OUT"
if [[ -s $OUT/vmlinux && -s $OUT/vmlinuz && -s $OUT/VERSION && -d $OUT/modules ]]; then
	exit 0
fi
ensure_packages

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
progress "Debian's x86_64 kernel ($PKG) into $OUT (once; cached)"
download_debs "$TMP" "$PKG"
dpkg -x "$TMP"/*.deb "$TMP/root"

mkdir -p "$TMP/out"
cp "$TMP/root/boot/vmlinuz-$REL" "$TMP/out/vmlinuz"
cp "$TMP/root/boot/System.map-$REL" "$TMP/out/System.map"
cp "$TMP/root/boot/config-$REL" "$TMP/out/config"
mkdir -p "$TMP/out/modules/lib"
mv "$TMP/root/lib/modules" "$TMP/out/modules/lib/"
echo "$REL" >"$TMP/out/VERSION"

# vmlinux: the bzImage carries the kernel as one xz stream after the setup code
# and decompressor. Try each xz magic until one decompresses to an ELF.
found=
while read -r off; do
	# tail dies of SIGPIPE once xz has its single stream: ignore its status.
	if { tail -c +$((off + 1)) "$TMP/out/vmlinuz" || true; } | xz -dc --single-stream >"$TMP/out/vmlinux" 2>/dev/null &&
		[[ $(head -c 4 "$TMP/out/vmlinux" | od -An -c | tr -d ' ') == 177ELF ]]; then
		found=1
		break
	fi
done < <(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$TMP/out/vmlinuz" | cut -d: -f1)
[[ -n $found ]] || die "no xz-compressed ELF found in vmlinuz-$REL"
# PVH entry point note (Xen ELF note type 18) is what lets QEMU boot it directly.
grep -q '^CONFIG_PVH=y' "$TMP/out/config" || die "kernel $REL lacks CONFIG_PVH"

rm -rf "$OUT"
mv "$TMP/out" "$OUT"
log "kernel $REL ready in $OUT"
