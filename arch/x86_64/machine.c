// SPDX-License-Identifier: MIT
/*
 * machine.c - the x86_64 machine: in-kernel irqchip and PIT, the platform
 * devices (COM1, i8042 reset line, CMOS RTC, ACPI power, test exit), the
 * PCI bus with pvpanic, ACPI tables, the kernel image, and per-vCPU boot
 * state.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "x86.h"
#include "acpi.h"
#include "memmap.h"
#include "devices/acpi_power.h"
#include "devices/cmos_rtc.h"
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/pvpanic.h"
#include "devices/serial.h"
#include "devices/test_exit.h"

/* Three pages KVM needs for Intel VMX real-mode support, just below the BIOS area at 4G. */
#define X86_KVM_IDENTITY_MAP_ADDR 0xfeffc000ULL
#define X86_KVM_TSS_ADDR 0xfeffd000ULL

#define KERNEL_MAX_SIZE (256ULL << 20)

const char *arch_default_cmdline(void)
{
	/*
	 * reboot=acpi: with hardware-reduced ACPI and no DMI, Linux otherwise
	 * picks EFI reboot and falls through to a jump into the BIOS.
	 */
	return "console=ttyS0 reboot=acpi";
}

static uint64_t ram_below_4g(const struct guest_mem *m)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < m->nregions; i++)
		if (m->regions[i].gpa < X86_MMIO_HOLE_END)
			n += m->regions[i].size;
	return n;
}

static uint32_t x86_pci_intx_gsi(unsigned int slot, unsigned int pin)
{
	return X86_PCI_INTX_GSI_BASE + (slot + pin - 1) % X86_PCI_INTX_NGSI;
}

/* Guest-physical address bits (CPUID 0x80000008 EAX[7:0]); 36 if KVM does not say. */
static unsigned int phys_bits(struct vm *vm)
{
	struct kvm_cpuid_entry2 *e = x86_cpuid_find(vm->arch->supported_cpuid, 0x80000008, 0);
	unsigned int bits = e ? e->eax & 0xff : 0;

	return bits >= 36 && bits <= 52 ? bits : 36;
}

static int create_pci(struct vm *vm)
{
	uint64_t top = X86_MMIO_HOLE_END, limit = 1ULL << phys_bits(vm);
	struct pci_platform plat = {
		.ecam_base = X86_PCI_ECAM_BASE,
		.ecam_size = X86_PCI_ECAM_SIZE,
		.mmio32_base = X86_PCI_MMIO32_BASE,
		.mmio32_size = X86_PCI_MMIO32_SIZE,
		.intx_gsi = x86_pci_intx_gsi,
	};

	for (unsigned int i = 0; i < vm->mem.nregions; i++) {
		const struct mem_region *r = &vm->mem.regions[i];

		if (r->gpa + r->size > top)
			top = r->gpa + r->size;
	}
	plat.mmio64_base = ALIGN_UP(top, X86_PCI_MMIO64_ALIGN);
	plat.mmio64_size = X86_PCI_MMIO64_SIZE;
	/* Keep the window addressable by the guest's CPUs. */
	if (plat.mmio64_base >= limit)
		plat.mmio64_size = 0;
	else if (plat.mmio64_size > limit - plat.mmio64_base)
		plat.mmio64_size = limit - plat.mmio64_base;
	if (pci_init(vm, &plat) || pvpanic_create(vm))
		return -1;
	return vm_devices_create(vm); /* the declared device types, on this bus */
}

static int create_devices(struct vm *vm)
{
	struct arch_vm *a = vm->arch;
	uint64_t low = ram_below_4g(&vm->mem);

	a->com1 = serial_create(vm, &vm->pio, X86_PORT_COM1, X86_IRQ_COM1, vm->console);
	if (!a->com1)
		return -1;
	a->i8042 = i8042_new(vm, &vm->pio, X86_PORT_I8042_DATA, X86_PORT_I8042_CMD);
	if (!a->i8042)
		return -1;
	a->rtc = cmos_rtc_new(vm, &vm->pio, X86_PORT_RTC, low, vm->mem.size - low);
	if (!a->rtc)
		return -1;
	a->acpi = acpi_power_create(vm, &vm->pio, X86_PORT_ACPI_SLEEP_CTL, X86_PORT_ACPI_SLEEP_STS,
				    X86_PORT_ACPI_RESET, X86_ACPI_RESET_VALUE, X86_ACPI_S5_SLP_TYP);
	if (!a->acpi || test_exit_create(vm, &vm->pio, X86_PORT_TEST_EXIT))
		return -1;
	return create_pci(vm);
}

int arch_vm_init(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = 0 };
	uint64_t ident = X86_KVM_IDENTITY_MAP_ADDR;

	vm->arch = calloc(1, sizeof(*vm->arch));
	if (!vm->arch)
		return -1;
	vm->arch->supported_cpuid = x86_get_supported_cpuid(vm->kvm_fd);
	if (!vm->arch->supported_cpuid)
		return -1;
	/*
	 * KVM emulates the TSC-deadline LAPIC timer with an in-kernel irqchip
	 * (ktvm always has one) but leaves the CPUID bit out of the supported
	 * set; QEMU adds it the same way.  Without it Linux falls back to the
	 * LAPIC timer's one-shot mode, which it must calibrate first.
	 */
	if (vm_check_extension(vm, KVM_CAP_TSC_DEADLINE_TIMER) > 0) {
		struct kvm_cpuid_entry2 *e = x86_cpuid_find(vm->arch->supported_cpuid, 1, 0);

		if (e)
			e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
	}
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)X86_KVM_TSS_ADDR) < 0) {
		log_err("x86", "KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -1;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		log_err("x86", "KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -1;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		log_err("x86", "KVM_CREATE_PIT2: %s", strerror(errno));
		return -1;
	}
	return create_devices(vm);
}

void arch_vm_destroy(struct vm *vm)
{
	if (vm->arch->com1)
		serial_destroy(vm->arch->com1);
	i8042_destroy(vm->arch->i8042);
	cmos_rtc_destroy(vm->arch->rtc);
	acpi_power_destroy(vm->arch->acpi);
	free(vm->arch->supported_cpuid);
	free(vm->arch);
	vm->arch = NULL;
}

/*
 * There is no BIOS, but a kernel asked to reboot "through the BIOS" (or
 * falling back to it) jumps to the reset vector F000:FFF0 in real mode.  Put
 * 'mov dx, RESET; mov al, VALUE; out dx, al; hlt' there: the ACPI reset
 * register then ends ktvm with status 0 like any other reboot.
 */
static int write_reset_vector(struct guest_mem *m)
{
	const uint8_t stub[] = {
		0xba, X86_PORT_ACPI_RESET & 0xff, X86_PORT_ACPI_RESET >> 8,
		0xb0, X86_ACPI_RESET_VALUE,
		0xee,
		0xf4,
		0xeb, 0xfd, /* hlt forever if the write was ignored */
	};

	return gmem_write(m, X86_RESET_VECTOR_ADDR, stub, sizeof(stub));
}

static char *build_cmdline(const char *user)
{
	const char *def = arch_default_cmdline();
	size_t n = strlen(def) + (user ? strlen(user) + 1 : 0) + 1;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s%s%s", def, user ? " " : "", user ? user : "");
	return s;
}

/* Returns 0, or an exit status: 2 for a bad image or configuration, 1 otherwise. */
int arch_load_kernel(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct e820_ent e820[E820_MAX];
	struct x86_boot_in in = { 0 };
	uint8_t *kernel = NULL, *initrd = NULL;
	size_t kernel_size = 0, initrd_size = 0;
	char err[256];
	char *cmdline = NULL;
	int ret = KTVM_EXIT_USAGE;
	enum kernel_format fmt;

	if (cfg->dump_dtb) {
		fprintf(stderr, "ktvm: --dump-dtb: x86_64 guests have no device tree\n");
		goto out;
	}
	/* Not populated: of a vmlinux only the loaded segments are read. */
	if (boot_map_file(cfg->kernel, KERNEL_MAX_SIZE, &kernel, &kernel_size, err, sizeof(err))) {
		fprintf(stderr, "ktvm: kernel '%s': %s\n", cfg->kernel, err);
		goto out;
	}
	fmt = boot_detect_format(kernel, kernel_size);
	if (fmt == KERNEL_ELF_NOPVH) {
		/* The PVH loader names the exact reason (machine type, missing note, ...). */
		struct x86_boot_out unused;

		if (pvh_load(&vm->mem, &(struct x86_boot_in){ .kernel = kernel,
							     .kernel_size = kernel_size },
			     &unused, err, sizeof(err)))
			fprintf(stderr, "ktvm: kernel '%s': %s\n", cfg->kernel, err);
		else
			fprintf(stderr, "ktvm: kernel '%s' has no usable PVH entry\n", cfg->kernel);
		goto out;
	}
	if (fmt != KERNEL_BZIMAGE && fmt != KERNEL_ELF_PVH) {
		const char *why = fmt == KERNEL_ARM64_IMAGE ?
			"is an arm64 Image; this ktvm runs x86_64 guests" :
			"is not a kernel image (expected an x86 bzImage or an ELF vmlinux with a PVH note)";
		fprintf(stderr, "ktvm: kernel '%s' %s\n", cfg->kernel, why);
		goto out;
	}
	if (cfg->initrd && boot_read_file(cfg->initrd, cfg->mem_bytes, &initrd, &initrd_size, err,
					  sizeof(err))) {
		fprintf(stderr, "ktvm: initrd '%s': %s\n", cfg->initrd, err);
		goto out;
	}
	cmdline = build_cmdline(cfg->cmdline);
	if (!cmdline)
		goto out;
	if (acpi_build(&vm->mem, X86_ACPI_ADDR, X86_ACPI_MAX, cfg->cpus, pci_get_platform(vm),
		       &in.rsdp_gpa)) {
		fprintf(stderr, "ktvm: cannot build the ACPI tables\n");
		ret = KTVM_EXIT_ERROR;
		goto out;
	}
	in.kernel = kernel;
	in.kernel_size = kernel_size;
	in.initrd = initrd;
	in.initrd_size = initrd_size;
	in.cmdline = cmdline;
	in.e820 = e820;
	in.ne820 = x86_build_e820(&vm->mem, e820, ARRAY_SIZE(e820));
	if ((fmt == KERNEL_BZIMAGE ? bzimage_load : pvh_load)(&vm->mem, &in, &vm->arch->boot, err,
							       sizeof(err))) {
		fprintf(stderr, "ktvm: kernel '%s': %s\n", cfg->kernel, err);
		goto out;
	}
	if (x86_write_boot_tables(&vm->mem, vm->arch->boot.mode) || write_reset_vector(&vm->mem)) {
		fprintf(stderr, "ktvm: cannot write the boot page tables\n");
		ret = KTVM_EXIT_ERROR;
		goto out;
	}
	log_info("boot", "%s kernel, entry 0x%llx, command line \"%s\"", boot_format_name(fmt),
		 (unsigned long long)vm->arch->boot.entry, cmdline);
	ret = 0;
out:
	boot_release_file(kernel, kernel_size);
	boot_release_file(initrd, initrd_size);
	free(cmdline);
	return ret;
}

static int set_boot_regs(struct vcpu *v)
{
	const struct x86_boot_out *b = &v->vm->arch->boot;
	struct kvm_regs regs;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2; /* bit 1 is reserved and always set */
	regs.rip = b->entry;
	regs.rsp = X86_BOOT_STACK_ADDR;
	if (b->mode == X86_ENTRY_PVH32)
		regs.rbx = b->boot_param; /* PVH: EBX = hvm_start_info */
	else
		regs.rsi = b->boot_param; /* boot protocol: RSI = boot_params */
	return ioctl(v->fd, KVM_SET_REGS, &regs);
}

int arch_vcpu_init(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct kvm_cpuid2 *cpuid;
	int r;

	cpuid = x86_cpuid_for_vcpu(vm->arch->supported_cpuid, v->id, vm->cfg->cpus);
	if (!cpuid)
		return -1;
	r = ioctl(v->fd, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	if (r < 0) {
		log_err("x86", "KVM_SET_CPUID2 on vCPU %u: %s", v->id, strerror(errno));
		return -1;
	}
	if (x86_vcpu_setup_msrs(v->fd) || x86_vcpu_setup_fpu(v->fd) || x86_vcpu_setup_lapic(v->fd)) {
		log_err("x86", "vCPU %u setup: %s", v->id, strerror(errno));
		return -1;
	}
	/* Secondary CPUs wait for INIT/SIPI in the in-kernel LAPIC; only the BSP boots. */
	if (v->id != 0)
		return 0;
	if (x86_set_boot_sregs(v->fd, vm->arch->boot.mode) || set_boot_regs(v)) {
		log_err("x86", "boot CPU state: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int arch_vcpu_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC; ktvm always has one. */
		vm_request_stop(v->vm, KTVM_EXIT_ERROR, "vCPU %u halted without an irqchip", v->id);
		return 1;
	default:
		vm_request_stop(v->vm, KTVM_EXIT_ERROR, "vCPU %u: unexpected KVM exit reason %u",
				v->id, run->exit_reason);
		return 1;
	}
}

uint32_t arch_irq_line_number(uint32_t gsi)
{
	return gsi;
}

/*
 * KVM's default routing after KVM_CREATE_IRQCHIP: GSI n goes to IOAPIC pin n
 * (0..23), and GSIs 0..15 also to the PIC pair.  Kept in every table ktvm sets.
 */
unsigned int arch_default_gsi_routes(void *entries, unsigned int max)
{
	struct kvm_irq_routing_entry *e = entries;
	unsigned int n = 0;

	for (uint32_t gsi = 0; gsi < 24 && n < max; gsi++) {
		e[n++] = (struct kvm_irq_routing_entry){
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi },
		};
		if (gsi < 16 && n < max)
			e[n++] = (struct kvm_irq_routing_entry){
				.gsi = gsi,
				.type = KVM_IRQ_ROUTING_IRQCHIP,
				.u.irqchip = { .irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
								    KVM_IRQCHIP_PIC_SLAVE,
					       .pin = gsi % 8 },
			};
	}
	return n;
}
