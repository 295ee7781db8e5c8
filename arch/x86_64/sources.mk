# Which shared boot loaders and device models an x86_64 ktvm is built from
# (the Makefile adds vmm/*.c and arch/x86_64/*.c).
ARCH_SRCS := boot/detect.c boot/bzimage.c boot/pvh.c \
	devices/acpi_power.c devices/cmos_rtc.c devices/i8042.c devices/msix.c devices/pci.c \
	devices/pvpanic.c devices/serial.c devices/tap.c devices/test_exit.c devices/virtio.c \
	devices/net_device.c devices/virtio_net.c devices/virtio_pci.c devices/virtq.c
ARCH_LDLIBS :=
# Unit tests that do not apply to this architecture (tests/unit/NAME.c).
ARCH_UNIT_SKIP :=
