#!/bin/bash
# Build the inner guest's initramfs (cpio newc, gzip) from Debian's busybox-static:
#   build/e2e/guest/initrd.cpio.gz  and  payload.sha256 (expected checksum of
#   /payload.bin, the known file whose checksum proves the initrd arrived intact).
# Rebuilt only when guest-init or this script changed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

OUT=$E2E_BUILD/guest
STAMP=$(cat "$E2E_SRC/guest-init" "$0" | sha256sum | cut -c1-16)
[[ -s $OUT/initrd.cpio.gz && $(cat "$OUT/stamp" 2>/dev/null) == "$STAMP" ]] && exit 0
ensure_packages

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

mkdir -p "$OUT"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 >"$TMP/initrd.cpio.gz"
mv "$TMP/initrd.cpio.gz" "$OUT/initrd.cpio.gz"
cp "$root/payload.sha256" "$OUT/payload.sha256"
echo "$STAMP" >"$OUT/stamp"
log "guest initrd ready: $OUT/initrd.cpio.gz ($(stat -c %s "$OUT/initrd.cpio.gz") bytes)"
