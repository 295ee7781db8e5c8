// SPDX-License-Identifier: MIT
/*
 * test_vm_devices.c - a NIC built by the one construction path on a bus
 * without MSI-X (aarch64's virtio-mmio, stood in for by the wraps below) is
 * a device of its VM: the statistics list it, and vm_destroy() frees it
 * with its transport (the unit suite's valgrind and ASan runs see leaks).
 * Before the per-VM device list, only x86's PCI path registered NICs and
 * the arm64 build's --stats listed none.  And the device registry: the
 * linker section holds virtio-net's type, whose hooks parse --net and
 * "nets" into the type's own slot of struct vm_config.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "devices/virtio.h"
#include "devices/virtio_mmio.h"
#include "devices/virtio_net.h"
#include "vmm/net_config.h"
#include "vmm/stats.h"
#include "vmm/vm_internal.h"

#define BASE 0x0a000000ULL
#define GSI  16

static int sv[2] = {-1, -1};
static unsigned int attached;

/* fd= adopts our socket as if it were a TAP queue (it keeps frame boundaries). */
int __wrap_tap_adopt(int fd, char *ifname, char *err, size_t errlen);
int __wrap_tap_adopt(int fd, char *ifname, char *err UNUSED, size_t errlen UNUSED)
{
	snprintf(ifname, 16, "tapfake");
	return fd;
}

/* The aarch64 bus: virtio-mmio, one interrupt line. */
void __wrap_arch_virtio_bus(struct vm *vm, struct virtio_bus_info *out);
void __wrap_arch_virtio_bus(struct vm *vm UNUSED, struct virtio_bus_info *out)
{
	*out = (struct virtio_bus_info){.name = "virtio-mmio", .msix = false};
}

int __wrap_arch_virtio_attach(struct vm *vm, struct virtio_dev *d, bool msix);
int __wrap_arch_virtio_attach(struct vm *vm, struct virtio_dev *d, bool msix UNUSED)
{
	attached++;
	return virtio_mmio_create(vm, d, BASE, GSI) ? 0 : -1;
}

int __wrap_vm_ioeventfd(struct vm *vm, bool pio, uint64_t addr, uint32_t len, int fd,
			bool has_match, uint64_t match, bool assign);
int __wrap_vm_ioeventfd(struct vm *vm UNUSED, bool pio UNUSED, uint64_t addr UNUSED,
			uint32_t len UNUSED, int fd UNUSED, bool has_match UNUSED,
			uint64_t match UNUSED, bool assign UNUSED)
{
	return 0;
}

static void vm_setup(struct vm *vm)
{
	struct mem_region r = {.gpa = 0, .size = MiB(1)};

	memset(vm, 0, sizeof(*vm));
	vm->vm_fd = vm->kvm_fd = vm->stop_eventfd = vm->loop_fd = -1;
	io_bus_init(&vm->pio, "pio");
	io_bus_init(&vm->mmio, "mmio");
	assert_int_equal(gmem_init(&vm->mem, MiB(1), &r, 1), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

static void vm_teardown(struct vm *vm)
{
	vm_destroy(vm); /* frees the NIC and its transport; fd= stays ours */
	close(sv[0]);
	close(sv[1]);
}

/* The NIC of an mmio VM is in the stats JSON, single-pair whatever it asked. */
static void test_mmio_nic_in_stats(void **state UNUSED)
{
	struct net_config cfg = {.fd = -1, .mac = KTVM_DEFAULT_MAC, .queue_pairs = 4, .msix = true};
	json_object *root, *nics, *nic, *v;
	struct vm vm;
	char *s;

	vm_setup(&vm);
	cfg.fd = sv[0];
	assert_int_equal(virtio_net_create(&vm, &cfg, 0), 0);
	assert_int_equal(attached, 1);
	s = vm_stats_json(&vm);
	assert_non_null(s);
	root = json_tokener_parse(s);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "nics", &nics));
	assert_int_equal(json_object_array_length(nics), 1);
	nic = json_object_array_get_idx(nics, 0);
	assert_true(json_object_object_get_ex(nic, "name", &v));
	assert_string_equal(json_object_get_string(v), "net0");
	assert_true(json_object_object_get_ex(nic, "tap", &v));
	assert_string_equal(json_object_get_string(v), "tapfake");
	assert_true(json_object_object_get_ex(nic, "queue_pairs", &v));
	assert_int_equal(json_object_get_int(v), 1);
	json_object_put(root);
	free(s);
	vm_teardown(&vm);
	/* The window is gone with its device: its range is free again. */
	assert_false(io_bus_access(&vm.mmio, BASE, (uint8_t[4]){0}, 4, false));
}

/* Two VMs do not see each other's NICs (no process-wide list). */
static void test_devices_are_per_vm(void **state UNUSED)
{
	struct net_config cfg = {.fd = -1, .mac = KTVM_DEFAULT_MAC, .queue_pairs = 1};
	struct vm vm, other;
	json_object *root, *nics;
	char *s;

	vm_setup(&vm);
	memset(&other, 0, sizeof(other));
	other.vm_fd = other.kvm_fd = other.stop_eventfd = other.loop_fd = -1;
	cfg.fd = sv[0];
	assert_int_equal(virtio_net_create(&vm, &cfg, 0), 0);
	s = vm_stats_json(&other);
	assert_non_null(s);
	root = json_tokener_parse(s);
	assert_true(json_object_object_get_ex(root, "nics", &nics));
	assert_int_equal(json_object_array_length(nics), 0);
	json_object_put(root);
	free(s);
	vm_destroy(&other);
	vm_teardown(&vm);
}

/* The registry finds the net type by its option and key, and its hooks fill its slot. */
static void test_registry_drives_net_options(void **state UNUSED)
{
	const struct ktvm_device_type *net = NULL;
	struct vm_config cfg;
	unsigned int ntypes = 0;
	char buf[4096];
	FILE *err;

	ktvm_for_each_device_type(t)
	{
		ntypes++;
		if (t->option && !strcmp(t->option, "net"))
			net = t;
	}
	assert_true(ntypes >= 1 && ntypes <= KTVM_MAX_DEVICE_TYPES);
	assert_ptr_equal(net, &ktvm_device_net);
	assert_string_equal(net->name, "virtio-net");
	assert_string_equal(net->json_key, "nets");
	memset(&cfg, 0, sizeof(cfg));
	err = fmemopen(buf, sizeof(buf), "w");
	assert_non_null(err);
	assert_int_equal(net->cli_parse(&cfg, "tap=a,queue_pairs=2", err), 0);
	assert_int_equal(net->cli_parse(&cfg, "tap=a,mac=02:00:00:00:00:02", err), 0);
	assert_int_equal(net_configs(&cfg)->n, 2);
	assert_string_equal(net_configs(&cfg)->nets[0].tap, "a");
	assert_int_equal(net_configs(&cfg)->nets[0].queue_pairs, 2);
	/* The duplicate check is the type's too. */
	assert_int_equal(net->check(&cfg, err), KTVM_EXIT_USAGE);
	fclose(err);
	assert_non_null(strstr(buf, "NICs 0 and 1 both use TAP 'a'"));
	net->cli_reset(&cfg);
	assert_int_equal(net_configs(&cfg)->n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_drives_net_options),
		cmocka_unit_test(test_mmio_nic_in_stats),
		cmocka_unit_test(test_devices_are_per_vm),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
