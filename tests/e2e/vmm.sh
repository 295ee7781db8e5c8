# Inner VMM adapters. Sourced. One function per VMM, same arguments:
#   vmm_<name> KERNEL INITRD CPUS MEMORY TIMEOUT CMDLINE
# Console on stdout; exit status per ktvm's contract: 0 poweroff/reboot,
# V for a byte V written to port 0x501, 124 on timeout, other = error.
# VMM=ktvm|qemu selects; add a VMM by adding vmm_<name>.
# E2E_KTVM_LOG_LEVEL (e.g. info) passes --log-level to ktvm: its timestamped
# lines (setup, "first KVM_RUN") go to stderr, which the harness keeps.

vmm_ktvm() {
	local k=$1 i=$2 cpus=$3 mem=$4 t=$5 cmdline=$6
	"$KTVM" run --kernel "$k" --initrd "$i" --cmdline "$cmdline" --cpus "$cpus" \
		--memory "$mem" --console stdio --timeout "$t" \
		${E2E_KTVM_LOG_LEVEL:+--log-level "$E2E_KTVM_LOG_LEVEL"} </dev/null
}

# Another ktvm binary ($E2E_KTVM_BASE, e.g. a copy of the previous build), so
# a change can be timed against its baseline in the same, interleaved run.
vmm_ktvmbase() {
	[[ -x ${E2E_KTVM_BASE:-} ]] || { echo "E2E_KTVM_BASE is not an executable" >&2; return 2; }
	KTVM=$E2E_KTVM_BASE vmm_ktvm "$@"
}

# QEMU microvm: the reference VMM for boot time (a PVH vmlinux or a bzImage).
# microvm has no reset device: reboot=t makes the guest triple-fault, which
# -no-reboot turns into an exit. isa-debug-exit turns a write of V into exit
# status (V<<1)|1: mapped back.
vmm_qemu() {
	qemu_machine microvm,rtc=on "$@"
}

# QEMU q35 (SeaBIOS, full ACPI, PCIe): the bzImage reference for boot time.
vmm_qemu_q35() {
	qemu_machine q35 "$@"
}

# qemu_machine MACHINE KERNEL INITRD CPUS MEMORY TIMEOUT CMDLINE
qemu_machine() {
	local m=$1 k=$2 i=$3 cpus=$4 mem=$5 t=$6 cmdline=$7 rc
	timeout "$t" qemu-system-x86_64 -M "$m" -accel kvm -cpu host -smp "$cpus" -m "$mem" \
		-nodefaults -no-user-config -display none -serial stdio -no-reboot \
		-device isa-debug-exit,iobase=0x501,iosize=1 \
		-kernel "$k" -initrd "$i" -append "console=ttyS0 reboot=t $cmdline" </dev/null 2>&1
	rc=$?
	if ((rc == 124 || rc == 0)); then return $rc; fi
	if ((rc % 2 == 1 && rc > 1)); then return $(((rc - 1) / 2)); fi
	return $((rc == 1 ? 1 : rc))
}
