# Which shared boot loaders and device models an aarch64 ktvm is built from
# (the Makefile adds vmm/*.c and arch/aarch64/*.c).  Linked but unused here:
# pvh.c (detect.c names ELF kernels through it).  No PCI: virtio devices sit
# on virtio-mmio (virtio_bus.c).
ARCH_SRCS := boot/detect.c boot/pvh.c boot/arm64_image.c \
	devices/serial.c devices/tap.c devices/test_exit.c \
	devices/virtio.c devices/virtio_mmio.c devices/net_device.c devices/virtio_net.c devices/virtq.c
ARCH_LDLIBS := -lfdt -lz
# Unit tests of x86-only code (tests/unit/NAME.c).
ARCH_UNIT_SKIP := test_acpi test_acpi_power test_boot test_cmos_rtc test_cpuid test_i8042 \
	test_memmap test_pvpanic test_kvm_probe
