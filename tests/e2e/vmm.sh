# Inner VMM adapters. Sourced. One function per VMM, same arguments:
#   vmm_<name> KERNEL INITRD CPUS MEMORY TIMEOUT CMDLINE
# Console on stdout; exit status per ktvm's contract: 0 poweroff/reboot,
# V for a byte V written to port 0x501, 124 on timeout, other = error.
# VMM=ktvm|qemu selects; add a VMM by adding vmm_<name>.

vmm_ktvm() {
	local k=$1 i=$2 cpus=$3 mem=$4 t=$5 cmdline=$6
	"$KTVM" run --kernel "$k" --initrd "$i" --cmdline "$cmdline" --cpus "$cpus" \
		--memory "$mem" --console stdio --timeout "$t" </dev/null
}

# QEMU microvm: the reference VMM for boot time (a PVH vmlinux or a bzImage).
# microvm has no reset device: reboot=t makes the guest triple-fault, which
# -no-reboot turns into an exit. isa-debug-exit turns a write of V into exit
# status (V<<1)|1: mapped back.
vmm_qemu() {
	local k=$1 i=$2 cpus=$3 mem=$4 t=$5 cmdline=$6 rc
	timeout "$t" qemu-system-x86_64 -M microvm,rtc=on -accel kvm -cpu host -smp "$cpus" -m "$mem" \
		-nodefaults -no-user-config -display none -serial stdio -no-reboot \
		-device isa-debug-exit,iobase=0x501,iosize=1 \
		-kernel "$k" -initrd "$i" -append "console=ttyS0 reboot=t $cmdline" </dev/null 2>&1
	rc=$?
	if ((rc == 124 || rc == 0)); then return $rc; fi
	if ((rc % 2 == 1 && rc > 1)); then return $(((rc - 1) / 2)); fi
	return $((rc == 1 ? 1 : rc))
}
