// SPDX-License-Identifier: MIT
/*
 * test_acpi.c - the ACPI tables: checksums, lengths, the XSDT, the FADT's
 * hardware-reduced fields, MADT entries for various CPU counts, the DSDT's
 * AML (COM1, the CMOS RTC, the PCI host bridge), the MCFG table, and the AML writer's
 * encodings.  When iasl is installed the tables are also disassembled by it
 * (skipped otherwise).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "arch/x86_64/acpi.h"
#include "arch/x86_64/layout.h"
#include "devices/pci.h"
#include "vmm/ktvm.h"

static uint32_t test_intx_gsi(unsigned int slot, unsigned int pin)
{
	return 16 + (slot + pin - 1) % 8;
}

static const struct pci_platform test_pci = {
	.ecam_base = X86_PCI_ECAM_BASE,
	.ecam_size = X86_PCI_ECAM_SIZE,
	.mmio32_base = X86_PCI_MMIO32_BASE,
	.mmio32_size = X86_PCI_MMIO32_SIZE,
	.mmio64_base = GiB(4),
	.mmio64_size = GiB(64),
	.intx_gsi = test_intx_gsi,
};

struct tables {
	struct guest_mem m;
	uint64_t rsdp;
	const struct acpi_rsdp *r;
	const struct acpi_table_header *xsdt, *fadt, *madt, *dsdt, *mcfg;
};

static uint8_t sum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len--)
		s += *b++;
	return s;
}

/* A table at 'gpa', checked to lie in the ACPI area with a valid header and checksum. */
static const struct acpi_table_header *table_at(struct guest_mem *m, uint64_t gpa, const char *sig)
{
	const struct acpi_table_header *h;

	assert_true(gpa >= X86_ACPI_ADDR && gpa < X86_ACPI_ADDR + X86_ACPI_MAX);
	h = gmem_ptr(m, gpa, sizeof(*h));
	assert_non_null(h);
	assert_memory_equal(h->signature, sig, 4);
	assert_true(h->length >= sizeof(*h));
	assert_true(gpa + h->length <= X86_ACPI_ADDR + X86_ACPI_MAX);
	assert_non_null(gmem_ptr(m, gpa, h->length));
	assert_int_equal(sum(h, h->length), 0);
	assert_memory_equal(h->oem_id, "KTVM  ", 6);
	return h;
}

static uint64_t xsdt_entry(const struct acpi_table_header *x, unsigned int i)
{
	uint64_t v;

	memcpy(&v, (const uint8_t *)(x + 1) + 8 * i, 8);
	return v;
}

static void build_with(struct tables *t, unsigned int ncpus, const struct pci_platform *pci)
{
	struct mem_region r[GUEST_MEM_MAX_REGIONS];
	unsigned int n = arch_mem_layout(MiB(64), r, ARRAY_SIZE(r));
	uint64_t x;

	memset(t, 0, sizeof(*t));
	assert_int_equal(gmem_init(&t->m, MiB(64), r, n), 0);
	/* Garbage first: the builder must not rely on zeroed memory. */
	memset(gmem_ptr(&t->m, X86_ACPI_ADDR, X86_ACPI_MAX), 0xa5, X86_ACPI_MAX);
	assert_int_equal(acpi_build(&t->m, X86_ACPI_ADDR, X86_ACPI_MAX, ncpus, pci, &t->rsdp), 0);
	assert_int_equal(t->rsdp, X86_ACPI_ADDR);

	t->r = gmem_ptr(&t->m, t->rsdp, sizeof(*t->r));
	assert_non_null(t->r);
	assert_memory_equal(t->r->signature, "RSD PTR ", 8);
	assert_int_equal(t->r->revision, 2);
	assert_int_equal(t->r->length, 36);
	assert_int_equal(sum(t->r, 20), 0);
	assert_int_equal(sum(t->r, 36), 0);
	assert_int_equal(t->r->rsdt_address, 0);

	t->xsdt = table_at(&t->m, t->r->xsdt_address, "XSDT");
	assert_int_equal(t->xsdt->revision, 1);
	assert_int_equal(t->xsdt->length, sizeof(*t->xsdt) + (pci ? 3 : 2) * 8);
	t->fadt = table_at(&t->m, xsdt_entry(t->xsdt, 0), "FACP");
	t->madt = table_at(&t->m, xsdt_entry(t->xsdt, 1), "APIC");
	t->mcfg = pci ? table_at(&t->m, xsdt_entry(t->xsdt, 2), "MCFG") : NULL;
	memcpy(&x, &((const struct acpi_fadt *)t->fadt)->x_dsdt, 8);
	t->dsdt = table_at(&t->m, x, "DSDT");
}

static void build(struct tables *t, unsigned int ncpus)
{
	build_with(t, ncpus, &test_pci);
}

static void test_rsdp_xsdt(void **state)
{
	struct tables t;

	build(&t, 1);
	assert_int_equal(t.rsdp % 16, 0);
	/* Tables are distinct and do not overlap the RSDP. */
	assert_true(t.r->xsdt_address >= t.rsdp + 36);
	assert_true(xsdt_entry(t.xsdt, 0) != xsdt_entry(t.xsdt, 1));
	gmem_destroy(&t.m);
}

static void test_fadt(void **state)
{
	struct tables t;
	const struct acpi_fadt *f;

	build(&t, 2);
	f = (const struct acpi_fadt *)t.fadt;
	assert_int_equal(f->h.length, 276);
	assert_int_equal(f->h.revision, 6);
	assert_int_equal(f->flags, ACPI_FADT_HW_REDUCED | ACPI_FADT_RESET_REG_SUP);
	assert_int_equal(f->iapc_boot_arch, ACPI_FADT_NO_VGA);
	assert_false(f->iapc_boot_arch &
		     (ACPI_FADT_8042 | ACPI_FADT_NO_MSI | ACPI_FADT_NO_CMOS_RTC));
	/* Hardware-reduced: no fixed hardware blocks, no SCI. */
	assert_int_equal(f->sci_int, 0);
	assert_int_equal(f->pm1a_evt_blk, 0);
	assert_int_equal(f->pm1a_cnt_blk, 0);
	assert_int_equal(f->pm_tmr_blk, 0);
	assert_int_equal(f->dsdt, 0);

	assert_int_equal(f->reset_reg.space_id, ACPI_GAS_IO);
	assert_int_equal(f->reset_reg.bit_width, 8);
	assert_int_equal(f->reset_reg.bit_offset, 0);
	assert_int_equal(f->reset_reg.address, X86_PORT_ACPI_RESET);
	assert_int_equal(f->reset_value, X86_ACPI_RESET_VALUE);
	assert_int_equal(f->sleep_control.space_id, ACPI_GAS_IO);
	assert_int_equal(f->sleep_control.bit_width, 8);
	assert_int_equal(f->sleep_control.address, X86_PORT_ACPI_SLEEP_CTL);
	assert_int_equal(f->sleep_status.space_id, ACPI_GAS_IO);
	assert_int_equal(f->sleep_status.bit_width, 8);
	assert_int_equal(f->sleep_status.address, X86_PORT_ACPI_SLEEP_STS);
	assert_memory_equal(&f->hypervisor_id, "KTVM\0\0\0\0", 8);
	gmem_destroy(&t.m);
}

struct madt_count {
	unsigned int lapic, x2apic, ioapic, iso, nmi, x2nmi;
};

/* Walk the MADT's entries, checking each one, and count them by type. */
static struct madt_count walk_madt(const struct acpi_table_header *h, unsigned int ncpus)
{
	const struct acpi_madt *madt = (const void *)h;
	const uint8_t *p = (const uint8_t *)(madt + 1), *end = (const uint8_t *)h + h->length;
	struct madt_count c = {0};

	assert_int_equal(madt->lapic_address, X86_LAPIC_ADDR);
	assert_int_equal(madt->flags, 0);
	while (p < end) {
		assert_true(end - p >= 2);
		assert_true(p[1] >= 2 && p[1] <= end - p);
		switch (p[0]) {
		case ACPI_MADT_LAPIC: {
			struct acpi_madt_lapic e;

			assert_int_equal(p[1], sizeof(e));
			memcpy(&e, p, sizeof(e));
			assert_int_equal(e.apic_id, c.lapic); /* APIC ID = vCPU index */
			assert_int_equal(e.uid, c.lapic);
			assert_int_equal(e.flags, ACPI_MADT_ENABLED);
			c.lapic++;
			break;
		}
		case ACPI_MADT_X2APIC: {
			struct acpi_madt_x2apic e;

			assert_int_equal(p[1], sizeof(e));
			memcpy(&e, p, sizeof(e));
			assert_int_equal(e.x2apic_id, 255 + c.x2apic);
			assert_int_equal(e.uid, 255 + c.x2apic);
			assert_int_equal(e.flags, ACPI_MADT_ENABLED);
			c.x2apic++;
			break;
		}
		case ACPI_MADT_IOAPIC: {
			struct acpi_madt_ioapic e;

			assert_int_equal(p[1], sizeof(e));
			memcpy(&e, p, sizeof(e));
			assert_int_equal(e.address, X86_IOAPIC_ADDR);
			assert_int_equal(e.gsi_base, 0);
			if (ncpus < 255)
				assert_int_equal(e.id, ncpus); /* clear of every CPU's */
			c.ioapic++;
			break;
		}
		case ACPI_MADT_ISO: {
			struct acpi_madt_iso e;

			assert_int_equal(p[1], sizeof(e));
			memcpy(&e, p, sizeof(e));
			assert_int_equal(e.bus, 0);
			assert_int_equal(e.source, 0);
			assert_int_equal(e.gsi, 2);
			assert_int_equal(e.flags & 0xc, ACPI_MPS_TRIGGER_EDGE);
			c.iso++;
			break;
		}
		case ACPI_MADT_LAPIC_NMI: {
			struct acpi_madt_lapic_nmi e;

			assert_int_equal(p[1], sizeof(e));
			memcpy(&e, p, sizeof(e));
			assert_int_equal(e.uid, 0xff);
			assert_int_equal(e.lint, 1);
			c.nmi++;
			break;
		}
		case ACPI_MADT_X2APIC_NMI: {
			struct acpi_madt_x2apic_nmi e;

			assert_int_equal(p[1], sizeof(e));
			memcpy(&e, p, sizeof(e));
			assert_int_equal(e.uid, UINT32_MAX);
			assert_int_equal(e.lint, 1);
			c.x2nmi++;
			break;
		}
		default:
			fail_msg("unexpected MADT entry type %u", p[0]);
		}
		p += p[1];
	}
	assert_ptr_equal(p, end);
	return c;
}

static void check_madt(unsigned int ncpus)
{
	struct tables t;
	struct madt_count c;

	build(&t, ncpus);
	assert_int_equal(t.madt->revision, ACPI_MADT_REVISION);
	c = walk_madt(t.madt, ncpus);
	assert_int_equal(c.lapic + c.x2apic, ncpus);
	assert_int_equal(c.lapic, ncpus < 255 ? ncpus : 255);
	assert_int_equal(c.ioapic, 1);
	assert_int_equal(c.iso, 1);
	assert_int_equal(c.nmi, 1);
	assert_int_equal(c.x2nmi, ncpus > 255 ? 1 : 0);
	gmem_destroy(&t.m);
}

static void test_madt_1(void **state)
{
	check_madt(1);
}

static void test_madt_4(void **state)
{
	check_madt(4);
}

static void test_madt_64(void **state)
{
	check_madt(64);
}

static void test_madt_255(void **state)
{
	/* APIC IDs 0..254: all still xAPIC entries (255 is the broadcast ID). */
	check_madt(255);
}

static void test_madt_x2apic(void **state)
{
	check_madt(256);
	check_madt(300);
}

static bool contains(const void *hay, size_t n, const void *needle, size_t m)
{
	return memmem(hay, n, needle, m) != NULL;
}

static void test_dsdt(void **state)
{
	static const uint8_t s5[] = {0x08, '\\', '_',  'S',  '5',  '_',	 0x12, 0x08,
				     0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00};
	static const uint8_t hid[] = {0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01};
	static const uint8_t crs[] = {0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01,
				      0x08, 0x22, 0x10, 0x00, 0x79, 0x00};
	static const uint8_t dev[] = {0x5b, 0x82};
	struct tables t;

	build(&t, 1);
	assert_int_equal(t.dsdt->revision, 2);
	assert_true(contains(t.dsdt, t.dsdt->length, s5, sizeof(s5)));
	assert_true(contains(t.dsdt, t.dsdt->length, hid, sizeof(hid)));
	assert_true(contains(t.dsdt, t.dsdt->length, crs, sizeof(crs)));
	assert_true(contains(t.dsdt, t.dsdt->length, dev, sizeof(dev)));
	assert_true(contains(t.dsdt, t.dsdt->length, "COM1", 4));
	gmem_destroy(&t.m);
}

/*
 * The CMOS RTC as PNP0B00 with ports 0x70-0x71 and no IRQ, so Linux's
 * rtc_cmos binds through PNP instead of its platform device's IRQ 8, which
 * cannot be requested without a legacy PIC.
 */
static void test_dsdt_rtc(void **state)
{
	static const uint8_t dev[] = {0x5b, 0x82};
	static const uint8_t name[] = {'R', 'T', 'C', '_'};
	static const uint8_t hid[] = {0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0b, 0x00};
	/* Name(_CRS, Buffer(10) { IO(Decode16, 0x70, 0x70, 1, 2), EndTag }) */
	static const uint8_t crs[] = {0x08, '_',  'C',	'R',  'S',  0x11, 0x0d, 0x0a, 0x0a, 0x47,
				      0x01, 0x70, 0x00, 0x70, 0x00, 0x01, 0x02, 0x79, 0x00};
	const uint8_t *p, *end;
	struct tables t;

	build(&t, 1);
	p = memmem(t.dsdt, t.dsdt->length, name, sizeof(name));
	assert_non_null(p);
	assert_true(contains(p - 3, 2, dev, sizeof(dev))); /* ExtOp DeviceOp PkgLength(1) */
	end = p + p[-1] - 1;				   /* the device's PkgLength */
	assert_true(end <= (const uint8_t *)t.dsdt + t.dsdt->length);
	assert_true(contains(p, (size_t)(end - p), hid, sizeof(hid)));
	assert_true(contains(p, (size_t)(end - p), crs, sizeof(crs)));
	/* No IRQ descriptor inside: the _CRS above ends right after the I/O range. */
	gmem_destroy(&t.m);
}

static void test_no_pci(void **state)
{
	struct tables t;

	build_with(&t, 1, NULL);
	assert_null(t.mcfg);
	assert_false(contains(t.dsdt, t.dsdt->length, "PCI0", 4));
	assert_false(contains(t.dsdt, t.dsdt->length, "_PRT", 4));
	gmem_destroy(&t.m);
}

static void test_mcfg(void **state)
{
	struct acpi_mcfg_alloc e;
	struct tables t;

	build(&t, 1);
	assert_int_equal(t.mcfg->length, sizeof(struct acpi_mcfg) + sizeof(e));
	assert_int_equal(t.mcfg->revision, 1);
	memcpy(&e, (const uint8_t *)t.mcfg + sizeof(struct acpi_mcfg), sizeof(e));
	assert_int_equal(e.address, X86_PCI_ECAM_BASE);
	assert_int_equal(e.segment, 0);
	assert_int_equal(e.start_bus, 0);
	assert_int_equal(e.end_bus, 0);
	gmem_destroy(&t.m);
}

static void test_dsdt_pci(void **state)
{
	static const uint8_t hid[] = {0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x08};
	static const uint8_t cid[] = {0x08, '_', 'C', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03};
	static const uint8_t mb[] = {0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0c, 0x02};
	/* WordBusNumber 0-0, IO 0xCF8/8, DWordMemory mmio32 */
	static const uint8_t bus[] = {0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0,	0,
				      0,    0,	  0,	0,    0,    0,	  0x01, 0x00};
	static const uint8_t io[] = {0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08};
	static const uint8_t mem32[] = {0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0,	  0,	0,
					0,    0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0xff, 0xdf,
					0,    0,    0,	  0,	0x00, 0x00, 0x00, 0x20};
	static const uint8_t mem64_hdr[] = {0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x01};
	static const uint8_t fixed[] = {0x86, 0x09, 0x00, 0x01, 0x00, 0x00,
					0x00, 0xe0, 0x00, 0x00, 0x10, 0x00};
	/* _PRT entries: slot 1 INTA -> GSI 17, slot 7 INTB -> GSI 16 (swizzled) */
	static const uint8_t prt1[] = {0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff,
				       0x01, 0x00, 0x00, 0x00, 0x0a, 0x11};
	static const uint8_t prt7b[] = {0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff,
					0x07, 0x00, 0x01, 0x00, 0x0a, 0x10};
	const uint8_t *p;
	struct tables t;
	uint64_t v;

	build(&t, 1);
	assert_true(contains(t.dsdt, t.dsdt->length, "PCI0", 4));
	assert_true(contains(t.dsdt, t.dsdt->length, hid, sizeof(hid)));
	assert_true(contains(t.dsdt, t.dsdt->length, cid, sizeof(cid)));
	assert_true(contains(t.dsdt, t.dsdt->length, "_SEG", 4));
	assert_true(contains(t.dsdt, t.dsdt->length, "_BBN", 4));
	assert_true(contains(t.dsdt, t.dsdt->length, bus, sizeof(bus)));
	assert_true(contains(t.dsdt, t.dsdt->length, io, sizeof(io)));
	assert_true(contains(t.dsdt, t.dsdt->length, mem32, sizeof(mem32)));
	p = memmem(t.dsdt, t.dsdt->length, mem64_hdr, sizeof(mem64_hdr));
	assert_non_null(p);
	memcpy(&v, p + 6 + 8, 8);
	assert_int_equal(v, GiB(4));
	memcpy(&v, p + 6 + 16, 8);
	assert_int_equal(v, GiB(68) - 1);
	memcpy(&v, p + 6 + 32, 8);
	assert_int_equal(v, GiB(64));
	assert_true(contains(t.dsdt, t.dsdt->length, "_PRT", 4));
	assert_true(contains(t.dsdt, t.dsdt->length, prt1, sizeof(prt1)));
	assert_true(contains(t.dsdt, t.dsdt->length, prt7b, sizeof(prt7b)));
	assert_true(contains(t.dsdt, t.dsdt->length, mb, sizeof(mb)));
	assert_true(contains(t.dsdt, t.dsdt->length, fixed, sizeof(fixed)));
	gmem_destroy(&t.m);
}

static void test_build_errors(void **state)
{
	struct mem_region r[GUEST_MEM_MAX_REGIONS];
	unsigned int n = arch_mem_layout(MiB(64), r, ARRAY_SIZE(r));
	struct guest_mem m;
	struct pci_platform bad = test_pci;
	uint64_t rsdp = 0;

	assert_int_equal(gmem_init(&m, MiB(64), r, n), 0);
	assert_int_equal(acpi_build(&m, X86_ACPI_ADDR, X86_ACPI_MAX, 0, NULL, &rsdp), -1);
	assert_int_equal(acpi_build(&m, X86_ACPI_ADDR + 8, X86_ACPI_MAX, 1, NULL, &rsdp), -1);
	/* Too small an area, for the RSDP alone and for a big MADT. */
	assert_int_equal(acpi_build(&m, X86_ACPI_ADDR, 16, 1, NULL, &rsdp), -1);
	assert_int_equal(acpi_build(&m, X86_ACPI_ADDR, 512, 1, NULL, &rsdp), -1);
	assert_int_equal(acpi_build(&m, X86_ACPI_ADDR, 2048, 1, &test_pci, &rsdp), -1);
	assert_int_equal(acpi_build(&m, X86_ACPI_ADDR, X86_ACPI_MAX, 10000, NULL, &rsdp), -1);
	/* Not RAM: inside the MMIO hole, and past the end of guest memory. */
	assert_int_equal(acpi_build(&m, X86_IOAPIC_ADDR, X86_ACPI_MAX, 1, NULL, &rsdp), -1);
	assert_int_equal(acpi_build(&m, MiB(64) - 4096, X86_ACPI_MAX, 1, NULL, &rsdp), -1);
	/* A 32-bit window that does not fit below 4 GiB cannot be described. */
	bad.mmio32_size = GiB(2);
	assert_int_equal(acpi_build(&m, X86_ACPI_ADDR, X86_ACPI_MAX, 1, &bad, &rsdp), -1);
	assert_int_equal(rsdp, 0);
	gmem_destroy(&m);
}

/* ---- the AML writer ---------------------------------------------- */

static void test_aml_integers(void **state)
{
	static const uint8_t want[] = {0x00, 0x01, 0x0a, 0x02, 0x0a, 0xff, 0x0b, 0x00,
				       0x01, 0x0c, 0x00, 0x00, 0x01, 0x00, 0x0e, 0x00,
				       0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00};
	uint8_t buf[64];
	struct aml a;

	aml_init(&a, buf, sizeof(buf));
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 2);
	aml_integer(&a, 0xff);
	aml_integer(&a, 0x100);
	aml_integer(&a, 0x10000);
	aml_integer(&a, 0x100000000ULL);
	assert_false(a.error);
	assert_int_equal(a.len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
}

static void test_aml_names(void **state)
{
	static const uint8_t want[] = {'_',  'S',  '5',	 '_', '\\', '_', 'S', 'B',  '_',
				       '\\', 0x2e, '_',	 'S', 'B',  '_', 'C', 'O',  'M',
				       '1',  '^',  0x2f, 3,   'A',  '_', '_', '_',  'B',
				       '_',  '_',  '_',	 'C', '_',  '_', '_', '\\', 0x00};
	uint8_t buf[64];
	struct aml a;

	aml_init(&a, buf, sizeof(buf));
	aml_namestring(&a, "_S5");
	aml_namestring(&a, "\\_SB_");
	aml_namestring(&a, "\\_SB.COM1");
	aml_namestring(&a, "^A.B.C");
	aml_namestring(&a, "\\");
	assert_false(a.error);
	assert_int_equal(a.len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));

	static const char *const bad[] = {"TOOLONG", "a", "1ABC", "A..B", "A.", "A-B"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		aml_init(&a, buf, sizeof(buf));
		aml_namestring(&a, bad[i]);
		assert_true(a.error);
	}
}

static void test_aml_eisaid(void **state)
{
	static const uint8_t want[] = {0x0c, 0x41, 0xd0, 0x05, 0x01,  /* PNP0501 */
				       0x0c, 0x41, 0xd0, 0x0a, 0x08}; /* PNP0A08 */
	uint8_t buf[16];
	struct aml a;

	aml_init(&a, buf, sizeof(buf));
	aml_eisaid(&a, "PNP0501");
	aml_eisaid(&a, "PNP0A08");
	assert_false(a.error);
	assert_memory_equal(buf, want, sizeof(want));
	aml_eisaid(&a, "pnp0501");
	assert_true(a.error);
}

/* A package of 'body' bytes of content: check the PkgLength encoding. */
static void check_pkglen(size_t body, const uint8_t *enc, size_t nenc)
{
	static uint8_t buf[1 << 21];
	struct aml a;
	size_t mark;

	aml_init(&a, buf, sizeof(buf));
	aml_byte(&a, 0x12);
	mark = aml_package(&a, 0);	  /* writes PackageOp itself, then NumElements */
	for (size_t i = 1; i < body; i++) /* NumElements is the first body byte */
		aml_byte(&a, (uint8_t)i);
	aml_end(&a, mark);
	assert_false(a.error);
	assert_int_equal(a.len, 2 + nenc + body);
	assert_int_equal(buf[1], 0x12);
	assert_memory_equal(buf + 2, enc, nenc);
	assert_int_equal(buf[2 + nenc], 0); /* NumElements */
	if (body > 1)
		assert_int_equal(buf[2 + nenc + body - 1], (uint8_t)(body - 1));
}

static void test_aml_pkglength(void **state)
{
	check_pkglen(1, (const uint8_t[]){0x02}, 1);
	check_pkglen(62, (const uint8_t[]){0x3f}, 1);		    /* 63: the 1-byte maximum */
	check_pkglen(63, (const uint8_t[]){0x41, 0x04}, 2);	    /* 65 = 0x041 */
	check_pkglen(4093, (const uint8_t[]){0x4f, 0xff}, 2);	    /* 4095 */
	check_pkglen(4094, (const uint8_t[]){0x81, 0x00, 0x01}, 3); /* 4097 = 0x1001 */
	check_pkglen(0x100000, (const uint8_t[]){0xc4, 0x00, 0x00, 0x01}, 4); /* 0x100004 */
}

static void test_aml_nesting(void **state)
{
	/* Scope(\_SB) { Device(DEV0) { Method(_STA, 0, NotSerialized) { Return(0x0f) } } } */
	static const uint8_t want[] = {0x10, 0x17, '\\', '_', 'S',  'B',  '_',	0x5b,
				       0x82, 0x0f, 'D',	 'E', 'V',  '0',  0x14, 0x09,
				       '_',  'S',  'T',	 'A', 0x00, 0xa4, 0x0a, 0x0f};
	uint8_t buf[64];
	struct aml a;
	size_t s, d, m;

	aml_init(&a, buf, sizeof(buf));
	s = aml_scope(&a, "\\_SB_");
	d = aml_device(&a, "DEV0");
	m = aml_method(&a, "_STA", 0, false);
	aml_return(&a);
	aml_integer(&a, 0x0f);
	aml_end(&a, m);
	aml_end(&a, d);
	aml_end(&a, s);
	assert_false(a.error);
	assert_int_equal(a.len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
}

static void test_aml_overflow(void **state)
{
	uint8_t buf[8];
	struct aml a;
	size_t len;

	aml_init(&a, buf, sizeof(buf));
	aml_string(&a, "0123456789");
	assert_true(a.error);
	assert_true(a.len <= sizeof(buf));
	/* Once in error, nothing more is written and aml_end does not touch the buffer. */
	len = a.len;
	aml_byte(&a, 1);
	aml_end(&a, 0);
	assert_true(a.error);
	assert_int_equal(a.len, len);

	aml_init(&a, buf, sizeof(buf));
	aml_end(&a, 5); /* a mark that was never opened */
	assert_true(a.error);
}

/* ---- iasl (optional) ----------------------------------------------- */

static void dump(const char *dir, const char *name, const void *p, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	fclose(f);
}

static void test_iasl_disassembles(void **state)
{
	char dir[] = "/tmp/ktvm-acpi-XXXXXX", cmd[1024];
	static const char *const names[] = {"dsdt", "facp", "apic", "xsdt", "mcfg"};
	struct tables t;

	if (system("command -v iasl >/dev/null 2>&1") != 0) {
		skip();
		return;
	}
	build(&t, 300);
	assert_non_null(mkdtemp(dir));
	dump(dir, "dsdt", t.dsdt, t.dsdt->length);
	dump(dir, "facp", t.fadt, t.fadt->length);
	dump(dir, "apic", t.madt, t.madt->length);
	dump(dir, "xsdt", t.xsdt, t.xsdt->length);
	dump(dir, "mcfg", t.mcfg, t.mcfg->length);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		/* iasl exits 0 even on some errors: also refuse any "Error" / checksum complaint. */
		snprintf(
			cmd, sizeof(cmd),
			"cd %s && iasl -d %s.dat >%s.log 2>&1 && ! grep -qiE 'error|invalid|incorrect' %s.log %s.dsl",
			dir, names[i], names[i], names[i], names[i]);
		if (system(cmd) != 0) {
			snprintf(cmd, sizeof(cmd), "cat %s/%s.log %s/%s.dsl >&2", dir, names[i],
				 dir, names[i]);
			(void)!system(cmd);
			fail_msg("iasl rejected %s", names[i]);
		}
	}
	/* The DSDT must recompile, too. */
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -p re dsdt.dsl >re.log 2>&1", dir);
	if (system(cmd) != 0) {
		snprintf(cmd, sizeof(cmd), "cat %s/re.log >&2", dir);
		(void)!system(cmd);
		fail_msg("iasl cannot recompile the DSDT");
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
	gmem_destroy(&t.m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsdp_xsdt),     cmocka_unit_test(test_fadt),
		cmocka_unit_test(test_madt_1),	      cmocka_unit_test(test_madt_4),
		cmocka_unit_test(test_madt_64),	      cmocka_unit_test(test_madt_255),
		cmocka_unit_test(test_madt_x2apic),   cmocka_unit_test(test_dsdt),
		cmocka_unit_test(test_build_errors),  cmocka_unit_test(test_aml_integers),
		cmocka_unit_test(test_aml_names),     cmocka_unit_test(test_aml_eisaid),
		cmocka_unit_test(test_aml_pkglength), cmocka_unit_test(test_aml_nesting),
		cmocka_unit_test(test_aml_overflow),  cmocka_unit_test(test_iasl_disassembles),
		cmocka_unit_test(test_no_pci),	      cmocka_unit_test(test_mcfg),
		cmocka_unit_test(test_dsdt_pci),      cmocka_unit_test(test_dsdt_rtc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
