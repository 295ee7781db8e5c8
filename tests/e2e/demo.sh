#!/bin/bash
# make demo: boot Debian's kernel under ktvm with a busybox shell of the guest
# on this terminal, a virtio-net NIC on a host TAP (2 vCPUs, 2 queue pairs,
# guest 10.0.2.2, host 10.0.2.1). 'poweroff' in the guest ends everything.
# With real hardware virtualisation ktvm runs directly; otherwise inside the
# venue (outer.sh: an emulated x86 with nested KVM, ~5 s to start, then the
# guest boots in ~8 s; Ctrl-A x quits the emulator in an emergency).
#   demo.sh [--bzimage|--vmlinux] [extra ktvm run options...]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kernel=$E2E_BUILD/kernel/vmlinuz
case ${1:-} in
--vmlinux) kernel=$E2E_BUILD/kernel/vmlinux; shift ;;
--bzimage) shift ;;
esac
[[ -x $KTVM ]] || die "$KTVM not built (run make)"
[[ -t 0 ]] || log "note: stdin is not a terminal; the guest shell will see end of input"
ensure_packages
"$E2E_SRC/fetch-kernel.sh"
"$E2E_SRC/build-guest-initrd.sh"

# A NIC on a host TAP (10.0.2.1 <-> the guest's eth0, 10.0.2.2), 2 vCPUs, 2
# queue pairs: demo-net.sh, run where ktvm runs.
cmd=("$E2E_SRC/demo-net.sh" "$KTVM" "$kernel" "$E2E_BUILD/guest/initrd-net.cpio.gz" "$@")
if host_has_hw_virt; then
	exec "${cmd[@]}"
fi
echo "demo: no vmx/svm on this host: starting the emulated x86 venue first (~5 s), then ktvm inside it"
mkdir -p "$E2E_BUILD/runs"
exec "$E2E_SRC/outer.sh" --interactive --timeout 3600 --results "$E2E_BUILD/runs/demo" -- "${cmd[@]}"
