// SPDX-License-Identifier: MIT
/*
 * test_virtio.c - device status state machine and feature negotiation, with
 * a fake device model and a fake transport counting what they are asked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "devices/virtio.h"

#define S_ACK	 VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV	 VIRTIO_CONFIG_S_DRIVER
#define S_FOK	 VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK	 VIRTIO_CONFIG_S_DRIVER_OK
#define S_NR	 VIRTIO_CONFIG_S_NEEDS_RESET
#define S_FAILED VIRTIO_CONFIG_S_FAILED

#define BIT(n)	(1ULL << (n))
#define OFFERED (BIT(0) | BIT(5) | BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_RING_F_INDIRECT_DESC))
#define V1	BIT(VIRTIO_F_VERSION_1)

static const struct mem_region layout[] = {{.gpa = 0, .size = MiB(1)}};
static struct guest_mem mem;

struct fake {
	struct virtio_dev d;
	struct virtq vqs[2];
	int activate_calls, reset_calls, activate_rc;
	int notify_queue_calls, notify_config_calls;
	struct virtq *last_q;
};

static uint64_t fake_features(struct virtio_dev *d)
{
	return OFFERED;
}

static int fake_activate(struct virtio_dev *d)
{
	struct fake *f = d->priv;

	f->activate_calls++;
	return f->activate_rc;
}

static void fake_reset(struct virtio_dev *d)
{
	struct fake *f = d->priv;

	f->reset_calls++;
}

static const struct virtio_dev_ops fake_ops = {
	.features = fake_features,
	.activate = fake_activate,
	.reset = fake_reset,
};

static void fake_notify_queue(struct virtio_dev *d, struct virtq *q)
{
	struct fake *f = d->priv;

	f->notify_queue_calls++;
	f->last_q = q;
}

static void fake_notify_config(struct virtio_dev *d)
{
	struct fake *f = d->priv;

	f->notify_config_calls++;
}

static const struct virtio_transport_ops fake_transport = {
	.notify_queue = fake_notify_queue,
	.notify_config = fake_notify_config,
};

static struct fake *fake_new(void)
{
	static struct fake f;

	memset(&f, 0, sizeof(f));
	f.d.name = "fake0";
	f.d.ops = &fake_ops;
	f.d.priv = &f;
	f.d.num_queues = 2;
	f.d.vqs = f.vqs;
	f.d.t = &fake_transport;
	for (unsigned int i = 0; i < 2; i++)
		virtq_init(&f.vqs[i], &mem, 256);
	assert_int_equal(virtio_dev_init(&f.d, NULL), 0);
	return &f;
}

static void set_features(struct virtio_dev *d, uint64_t features)
{
	virtio_set_driver_features(d, 0, (uint32_t)features);
	virtio_set_driver_features(d, 1, (uint32_t)(features >> 32));
}

/* The driver's side of a normal bring-up up to (and excluding) DRIVER_OK. */
static void negotiate(struct fake *f, uint64_t features)
{
	virtio_set_status(&f->d, S_ACK);
	virtio_set_status(&f->d, S_ACK | S_DRV);
	set_features(&f->d, features);
	virtio_set_status(&f->d, S_ACK | S_DRV | S_FOK);
	assert_int_equal(f->d.status, S_ACK | S_DRV | S_FOK);
}

static void test_init(void **state)
{
	struct fake *f = fake_new();

	assert_int_equal(f->d.device_features, OFFERED | V1);
	assert_int_equal(f->d.status, 0);
	assert_int_equal(f->d.driver_features, 0);
	assert_false(f->d.activated);
}

static void test_full_bring_up(void **state)
{
	struct fake *f = fake_new();

	negotiate(f, V1 | BIT(5));
	virtio_set_status(&f->d, S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(f->d.status, S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(f->activate_calls, 1);
	assert_true(f->d.activated);
	assert_int_equal(f->d.driver_features, V1 | BIT(5));
}

static void test_reset_clears(void **state)
{
	struct fake *f = fake_new();

	f->vqs[0].kick_fd = 7;
	f->vqs[0].call_fd = 8;
	negotiate(f, V1);
	f->vqs[0].enabled = true;
	virtio_set_status(&f->d, S_ACK | S_DRV | S_FOK | S_DOK);
	virtio_set_status(&f->d, 0);
	assert_int_equal(f->d.status, 0);
	assert_int_equal(f->d.driver_features, 0);
	assert_false(f->d.activated);
	assert_int_equal(f->reset_calls, 1);
	assert_false(f->vqs[0].enabled);
	assert_int_equal(f->vqs[0].kick_fd, 7);
	assert_int_equal(f->vqs[0].call_fd, 8);
	/* And it can come up again. */
	negotiate(f, V1);
	virtio_set_status(&f->d, S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(f->activate_calls, 2);
}

static void test_bits_only_added(void **state)
{
	struct fake *f = fake_new();

	virtio_set_status(&f->d, S_ACK | S_DRV);
	virtio_set_status(&f->d, S_ACK); /* clears DRIVER: ignored */
	assert_int_equal(f->d.status, S_ACK | S_DRV);
	virtio_set_status(&f->d, S_DRV); /* clears ACK, even with nothing else changing */
	assert_int_equal(f->d.status, S_ACK | S_DRV);
	assert_int_equal(f->reset_calls, 0);
}

static void test_features_ok_refused_unoffered(void **state)
{
	struct fake *f = fake_new();

	virtio_set_status(&f->d, S_ACK | S_DRV);
	set_features(&f->d, V1 | BIT(1));
	virtio_set_status(&f->d, S_ACK | S_DRV | S_FOK);
	assert_int_equal(f->d.status, S_ACK | S_DRV);
	/* A high unoffered bit too. */
	set_features(&f->d, V1 | BIT(63));
	virtio_set_status(&f->d, S_ACK | S_DRV | S_FOK);
	assert_int_equal(f->d.status, S_ACK | S_DRV);
	/* The driver may try again with a correct set. */
	set_features(&f->d, V1 | BIT(0));
	virtio_set_status(&f->d, S_ACK | S_DRV | S_FOK);
	assert_int_equal(f->d.status, S_ACK | S_DRV | S_FOK);
}

static void test_features_ok_refused_without_version_1(void **state)
{
	struct fake *f = fake_new();

	virtio_set_status(&f->d, S_ACK | S_DRV);
	set_features(&f->d, BIT(0));
	virtio_set_status(&f->d, S_ACK | S_DRV | S_FOK);
	assert_int_equal(f->d.status, S_ACK | S_DRV);
	assert_false(virtio_queue_config_allowed(&f->d));
}

static void test_features_frozen_after_features_ok(void **state)
{
	struct fake *f = fake_new();

	negotiate(f, V1);
	set_features(&f->d, V1 | BIT(5));
	assert_int_equal(f->d.driver_features, V1);
}

static void test_features_select(void **state)
{
	struct fake *f = fake_new();

	virtio_set_driver_features(&f->d, 1, 0x1);
	virtio_set_driver_features(&f->d, 0, 0x21);
	assert_int_equal(f->d.driver_features, V1 | 0x21);
	virtio_set_driver_features(&f->d, 2, 0xffffffff); /* no such word: ignored */
	assert_int_equal(f->d.driver_features, V1 | 0x21);
	virtio_set_driver_features(&f->d, 0, 0x1); /* a half is replaced, not or-ed */
	assert_int_equal(f->d.driver_features, V1 | 0x1);
}

static void test_queue_config_window(void **state)
{
	struct fake *f = fake_new();

	assert_false(virtio_queue_config_allowed(&f->d));
	virtio_set_status(&f->d, S_ACK | S_DRV);
	assert_false(virtio_queue_config_allowed(&f->d));
	set_features(&f->d, V1);
	virtio_set_status(&f->d, S_ACK | S_DRV | S_FOK);
	assert_true(virtio_queue_config_allowed(&f->d));
	virtio_set_status(&f->d, S_ACK | S_DRV | S_FOK | S_DOK);
	assert_false(virtio_queue_config_allowed(&f->d));
	virtio_set_status(&f->d, 0);
	assert_false(virtio_queue_config_allowed(&f->d));
}

static void test_driver_ok_activates_once(void **state)
{
	struct fake *f = fake_new();

	negotiate(f, V1 | BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_RING_F_INDIRECT_DESC));
	f->vqs[0].enabled = true; /* the transport enabled queue 0 only */
	virtio_set_status(&f->d, S_ACK | S_DRV | S_FOK | S_DOK);
	virtio_set_status(&f->d, S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(f->activate_calls, 1);
	assert_true(f->vqs[0].event_idx);
	assert_true(f->vqs[0].indirect);
	assert_false(f->vqs[1].event_idx);
	assert_false(f->vqs[1].indirect);
}

static void test_driver_ok_without_features(void **state)
{
	struct fake *f = fake_new();

	negotiate(f, V1);
	f->vqs[0].enabled = true;
	virtio_set_status(&f->d, S_ACK | S_DRV | S_FOK | S_DOK);
	assert_false(f->vqs[0].event_idx);
	assert_false(f->vqs[0].indirect);
}

static void test_driver_ok_without_features_ok(void **state)
{
	struct fake *f = fake_new();

	virtio_set_status(&f->d, S_ACK | S_DRV);
	set_features(&f->d, V1);
	virtio_set_status(&f->d, S_ACK | S_DRV | S_DOK);
	assert_int_equal(f->activate_calls, 0);
	assert_int_equal(f->d.status, S_ACK | S_DRV | S_NR);
	assert_false(f->d.activated);
}

static void test_activate_failure(void **state)
{
	struct fake *f = fake_new();

	f->activate_rc = -1;
	negotiate(f, V1);
	virtio_set_status(&f->d, S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(f->activate_calls, 1);
	assert_false(f->d.activated);
	assert_int_equal(f->d.status, S_ACK | S_DRV | S_FOK | S_DOK | S_NR);
	assert_int_equal(f->notify_config_calls, 1);
	assert_int_equal(atomic_load(&f->d.config_generation), 1);
	/* Reset clears NEEDS_RESET. */
	virtio_set_status(&f->d, 0);
	assert_int_equal(f->d.status, 0);
}

static void test_needs_reset_is_device_owned(void **state)
{
	struct fake *f = fake_new();

	negotiate(f, V1);
	virtio_set_status(&f->d, S_ACK | S_DRV | S_FOK | S_DOK);
	virtio_set_needs_reset(&f->d);
	virtio_set_needs_reset(&f->d); /* once is enough to tell the driver */
	assert_int_equal(f->notify_config_calls, 1);
	/* A driver write without the bit neither clears it nor counts as clearing a bit. */
	virtio_set_status(&f->d, S_ACK | S_DRV | S_FOK | S_DOK | S_FAILED);
	assert_int_equal(f->d.status, S_ACK | S_DRV | S_FOK | S_DOK | S_NR | S_FAILED);
	/* And the driver cannot set it. */
	virtio_set_status(&f->d, 0);
	virtio_set_status(&f->d, S_ACK | S_NR);
	assert_int_equal(f->d.status, S_ACK);
}

static void test_needs_reset_before_driver_ok(void **state)
{
	struct fake *f = fake_new();

	negotiate(f, V1);
	virtio_set_needs_reset(&f->d);
	assert_int_equal(f->d.status & S_NR, S_NR);
	assert_int_equal(f->notify_config_calls, 0);
	/* No activation of a device that needs a reset. */
	virtio_set_status(&f->d, S_ACK | S_DRV | S_FOK | S_DOK);
	assert_int_equal(f->activate_calls, 0);
}

static void test_failed_stops_device(void **state)
{
	struct fake *f = fake_new();

	negotiate(f, V1);
	virtio_set_status(&f->d, S_ACK | S_DRV | S_FOK | S_DOK);
	virtio_set_status(&f->d, S_ACK | S_DRV | S_FOK | S_DOK | S_FAILED);
	assert_int_equal(f->reset_calls, 1);
	assert_false(f->d.activated);
	assert_int_equal(f->d.status, S_ACK | S_DRV | S_FOK | S_DOK | S_FAILED);
	virtio_set_status(&f->d, S_ACK | S_DRV | S_FOK | S_DOK | S_FAILED);
	assert_int_equal(f->reset_calls, 1);
}

static void test_failed_before_driver_ok(void **state)
{
	struct fake *f = fake_new();

	virtio_set_status(&f->d, S_ACK | S_FAILED);
	assert_int_equal(f->d.status, S_ACK | S_FAILED);
	assert_int_equal(f->reset_calls, 0);
	set_features(&f->d, V1);
	virtio_set_status(&f->d, S_ACK | S_DRV | S_FOK | S_DOK | S_FAILED);
	assert_int_equal(f->activate_calls, 0);
}

static void test_config_changed(void **state)
{
	struct fake *f = fake_new();

	virtio_config_changed(&f->d);
	virtio_config_changed(&f->d);
	assert_int_equal(atomic_load(&f->d.config_generation), 2);
	assert_int_equal(f->notify_config_calls, 2);
}

static void test_notify_queue(void **state)
{
	struct fake *f = fake_new();
	struct virtq *q = &f->vqs[1];
	struct vring_avail *avail = gmem_ptr(&mem, 0x2000, 4);

	memset(mem.base, 0, 0x4000);
	q->size = 8;
	q->desc_gpa = 0x1000;
	q->avail_gpa = 0x2000;
	q->used_gpa = 0x3000;
	assert_int_equal(virtq_enable(q), 0);
	virtio_notify_queue(&f->d, q);
	assert_int_equal(f->notify_queue_calls, 1);
	assert_ptr_equal(f->last_q, q);
	avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	virtio_notify_queue(&f->d, q);
	assert_int_equal(f->notify_queue_calls, 1);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_full_bring_up),
		cmocka_unit_test(test_reset_clears),
		cmocka_unit_test(test_bits_only_added),
		cmocka_unit_test(test_features_ok_refused_unoffered),
		cmocka_unit_test(test_features_ok_refused_without_version_1),
		cmocka_unit_test(test_features_frozen_after_features_ok),
		cmocka_unit_test(test_features_select),
		cmocka_unit_test(test_queue_config_window),
		cmocka_unit_test(test_driver_ok_activates_once),
		cmocka_unit_test(test_driver_ok_without_features),
		cmocka_unit_test(test_driver_ok_without_features_ok),
		cmocka_unit_test(test_activate_failure),
		cmocka_unit_test(test_needs_reset_is_device_owned),
		cmocka_unit_test(test_needs_reset_before_driver_ok),
		cmocka_unit_test(test_failed_stops_device),
		cmocka_unit_test(test_failed_before_driver_ok),
		cmocka_unit_test(test_config_changed),
		cmocka_unit_test(test_notify_queue),
	};

	if (gmem_init(&mem, MiB(1), layout, ARRAY_SIZE(layout)))
		return 1;
	log_set_level(LOG_ERROR);
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	gmem_destroy(&mem);
	return rc;
}
