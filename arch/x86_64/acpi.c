// SPDX-License-Identifier: MIT
/*
 * acpi.c - the guest's ACPI tables: RSDP -> XSDT -> {FADT -> DSDT, MADT}.
 *
 * With PCI, the MCFG table points the guest at the ECAM area, and the DSDT
 * describes the host bridge: its bus range, its memory windows (the only
 * resources PCI devices get: memory BARs) and its INTx routing (_PRT).
 *
 * The platform is "hardware-reduced ACPI" (ACPI 6.x, 4.1): no PM1 blocks,
 * no SCI, no GPEs, just a sleep control/status register pair and a reset
 * register in I/O space.  That is all a guest needs to power off and reboot,
 * and it keeps Linux from probing legacy fixed hardware we do not emulate.
 *
 * Tables are built in place in guest RAM (one checked gmem_ptr() for the
 * whole area), each 16-byte aligned after the RSDP.  To add a table, write a
 * build_xxx() and list it in xsdt_tables[].
 */
#include <string.h>

#include "arch/x86_64/acpi.h"
#include "arch/x86_64/layout.h"
#include "devices/pci.h"

_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP layout");
_Static_assert(sizeof(struct acpi_table_header) == 36, "header layout");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS layout");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, sleep_control) == 244, "FADT layout");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT layout");
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT layout");
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT LAPIC layout");
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT IOAPIC layout");
_Static_assert(sizeof(struct acpi_madt_iso) == 10, "MADT ISO layout");
_Static_assert(sizeof(struct acpi_madt_lapic_nmi) == 6, "MADT NMI layout");
_Static_assert(sizeof(struct acpi_madt_x2apic) == 16, "MADT x2APIC layout");
_Static_assert(sizeof(struct acpi_madt_x2apic_nmi) == 12, "MADT x2APIC NMI layout");
_Static_assert(sizeof(struct acpi_mcfg) == 44, "MCFG layout");
_Static_assert(sizeof(struct acpi_mcfg_alloc) == 16, "MCFG entry layout");

#define ACPI_ALIGN	16
#define ACPI_MAX_TABLES 16
/* xAPIC IDs are 8-bit and 0xff is the broadcast ID: from here on, x2APIC entries. */
#define ACPI_XAPIC_MAX_ID 0xfe

struct acpi_ctx {
	uint8_t *buf; /* host view of [base, base + size) in guest RAM */
	uint64_t base, size, used;
	unsigned int ncpus;
	const struct pci_platform *pci; /* NULL: no PCI */
	uint64_t dsdt;
	uint64_t xsdt[ACPI_MAX_TABLES];
	unsigned int nxsdt;
};

uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

/* Room for one 'len'-byte table (zeroed), or NULL when the area is full. */
static void *acpi_alloc(struct acpi_ctx *c, uint64_t len, uint64_t *gpa)
{
	uint64_t off = ALIGN_UP(c->used, ACPI_ALIGN);

	if (off > c->size || len > c->size - off) {
		log_err("acpi", "tables do not fit in %llu bytes at %#llx",
			(unsigned long long)c->size, (unsigned long long)c->base);
		return NULL;
	}
	c->used = off + len;
	*gpa = c->base + off;
	return c->buf + off;
}

static void acpi_header(struct acpi_table_header *h, const char *sig, uint64_t len, uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = (uint32_t)len;
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	/* "KTVM" + the signature: unique per table, as some OSes expect */
	memcpy(h->oem_table_id, "KTVM", 4);
	memcpy(h->oem_table_id + 4, sig, 4);
	h->oem_revision = 1;
	memcpy(h->asl_compiler_id, ACPI_CREATOR_ID, 4);
	h->asl_compiler_revision = 1;
}

static void acpi_finish(struct acpi_table_header *h)
{
	h->checksum = 0;
	h->checksum = acpi_checksum(h, h->length);
}

static int acpi_publish(struct acpi_ctx *c, uint64_t gpa)
{
	if (c->nxsdt >= ACPI_MAX_TABLES)
		return -1;
	c->xsdt[c->nxsdt++] = gpa;
	return 0;
}

/* ---- DSDT ---------------------------------------------------------- */

/* Name(_CRS, ResourceTemplate() { what res holds }) */
static void aml_crs(struct aml *a, struct aml *res)
{
	aml_res_end(res);
	aml_name(a, "_CRS");
	if (res->error)
		a->error = true;
	else
		aml_buffer(a, res->buf, res->len);
}

/*
 * \_SB.PCI0: bus 0 with the configuration ports, the two memory windows,
 * and a _PRT entry for every pin of every slot, in the GSI form (no link
 * devices): Linux then programs the IOAPIC pin level-triggered.  Linux
 * assumes active-low for that form; KVM's IOAPIC ignores the polarity of
 * a line driven by irqfd, so either works.
 */
static void dsdt_pci(struct aml *a, const struct pci_platform *pci)
{
	uint8_t resbuf[128];
	struct aml res;
	size_t dev, prt, ent;

	dev = aml_device(a, "PCI0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A08");
	aml_name(a, "_CID");
	aml_eisaid(a, "PNP0A03");
	aml_name(a, "_SEG");
	aml_integer(a, 0);
	aml_name(a, "_BBN");
	aml_integer(a, 0);
	aml_name(a, "_UID");
	aml_integer(a, 0);

	aml_init(&res, resbuf, sizeof(resbuf));
	aml_res_bus(&res, 0, 0);
	aml_res_io(&res, 0xcf8, 8);
	aml_res_mem32(&res, (uint32_t)pci->mmio32_base, (uint32_t)pci->mmio32_size);
	if (pci->mmio64_size)
		aml_res_mem64(&res, pci->mmio64_base, pci->mmio64_size);
	if (pci->mmio32_base > UINT32_MAX || pci->mmio32_size > UINT32_MAX - pci->mmio32_base + 1)
		a->error = true;
	aml_crs(a, &res);

	/* Slots 1..31 (0 is the host bridge), pins INTA..INTD. */
	aml_name(a, "_PRT");
	prt = aml_package(a, (PCI_MAX_SLOTS - 1) * 4);
	for (unsigned int slot = 1; slot < PCI_MAX_SLOTS; slot++) {
		for (unsigned int pin = 1; pin <= 4; pin++) {
			ent = aml_package(a, 4);
			aml_integer(a, (uint64_t)slot << 16 | 0xffff); /* _ADR: any function */
			aml_integer(a, pin - 1);		       /* 0 = INTA */
			aml_integer(a, 0);			       /* no link device: */
			aml_integer(a, pci->intx_gsi(slot, pin));      /* the GSI itself */
			aml_end(a, ent);
		}
	}
	aml_end(a, prt);
	aml_end(a, dev);

	/* The ECAM area as a motherboard resource: what Linux wants to see before using MCFG. */
	dev = aml_device(a, "MRES");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0C02");
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_init(&res, resbuf, sizeof(resbuf));
	aml_res_mem32_fixed(&res, (uint32_t)pci->ecam_base, (uint32_t)pci->ecam_size);
	if (pci->ecam_base > UINT32_MAX)
		a->error = true;
	aml_crs(a, &res);
	aml_end(a, dev);
}

static void dsdt_body(struct aml *a, const struct pci_platform *pci)
{
	uint8_t resbuf[32];
	struct aml res;
	size_t scope, dev, pkg;

	/* \_S5: SLP_TYPa, SLP_TYPb, reserved, reserved; HW-reduced uses SLP_TYPa. */
	aml_name(a, "\\_S5_");
	pkg = aml_package(a, 4);
	aml_integer(a, X86_ACPI_S5_SLP_TYP);
	aml_integer(a, X86_ACPI_S5_SLP_TYP);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_end(a, pkg);

	scope = aml_scope(a, "\\_SB_");

	/* COM1, so the guest's PNP code finds the UART without legacy probing. */
	dev = aml_device(a, "COM1");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0501");
	aml_name(a, "_UID");
	aml_integer(a, 1);
	aml_init(&res, resbuf, sizeof(resbuf));
	aml_res_io(&res, X86_PORT_COM1, 8);
	aml_res_irq(&res, X86_IRQ_COM1);
	aml_crs(a, &res);
	aml_end(a, dev);

	/*
	 * The CMOS RTC, so Linux's rtc_cmos binds through PNP.  Without it
	 * Linux registers a platform rtc_cmos device with IRQ 8, and in
	 * hardware-reduced mode (no legacy PIC, so no ISA IRQ 0-15 is mapped
	 * unless a _CRS names it) request_irq(8) fails with -EINVAL and the
	 * probe fails.  No IRQ here: our RTC raises none, and rtc_cmos then
	 * runs without alarms (it uses IRQ 8 only when a legacy PIC exists).
	 */
	dev = aml_device(a, "RTC_");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0B00");
	aml_init(&res, resbuf, sizeof(resbuf));
	aml_res_io(&res, X86_PORT_RTC, 2);
	aml_crs(a, &res);
	aml_end(a, dev);

	if (pci)
		dsdt_pci(a, pci);
	aml_end(a, scope);
}

static int build_dsdt(struct acpi_ctx *c)
{
	uint64_t off = ALIGN_UP(c->used, ACPI_ALIGN);
	struct acpi_table_header *h;
	struct aml a;
	uint64_t gpa;

	if (off > c->size || c->size - off < sizeof(*h))
		return -1;
	/* AML is written straight after the header; then the header is sized to it. */
	aml_init(&a, c->buf + off + sizeof(*h), c->size - off - sizeof(*h));
	dsdt_body(&a, c->pci);
	if (a.error) {
		log_err("acpi", "DSDT does not fit or is malformed");
		return -1;
	}
	h = acpi_alloc(c, sizeof(*h) + a.len, &gpa);
	if (!h)
		return -1;
	acpi_header(h, "DSDT", sizeof(*h) + a.len, ACPI_DSDT_REVISION);
	acpi_finish(h);
	c->dsdt = gpa;
	return 0;
}

/* ---- FADT ---------------------------------------------------------- */

static struct acpi_gas gas_io8(uint16_t port)
{
	return (struct acpi_gas){
		.space_id = ACPI_GAS_IO, .bit_width = 8, .access_width = 1, .address = port};
}

static int build_fadt(struct acpi_ctx *c)
{
	struct acpi_fadt *f;
	uint64_t gpa;

	f = acpi_alloc(c, sizeof(*f), &gpa);
	if (!f)
		return -1;
	acpi_header(&f->h, "FACP", sizeof(*f), ACPI_FADT_REVISION);
	f->minor_revision = ACPI_FADT_MINOR_REVISION;
	f->flags = ACPI_FADT_HW_REDUCED | ACPI_FADT_RESET_REG_SUP;
	/*
	 * No VGA.  No 8042 flag: our i8042 only implements the reset line,
	 * and a guest that believes in a keyboard controller probes it.  MSI
	 * stays allowed (PCI MSI-X comes later); the CMOS RTC is there.
	 */
	f->iapc_boot_arch = ACPI_FADT_NO_VGA;
	f->reset_reg = gas_io8(X86_PORT_ACPI_RESET);
	f->reset_value = X86_ACPI_RESET_VALUE;
	f->sleep_control = gas_io8(X86_PORT_ACPI_SLEEP_CTL);
	f->sleep_status = gas_io8(X86_PORT_ACPI_SLEEP_STS);
	/* Only X_DSDT: ACPICA warns when the 32- and 64-bit pointers both exist. */
	f->x_dsdt = c->dsdt;
	memcpy(&f->hypervisor_id, "KTVM", 4);
	acpi_finish(&f->h);
	return acpi_publish(c, gpa);
}

/* ---- MADT ---------------------------------------------------------- */

static int build_madt(struct acpi_ctx *c)
{
	unsigned int nx = c->ncpus > ACPI_XAPIC_MAX_ID + 1 ? c->ncpus - (ACPI_XAPIC_MAX_ID + 1) : 0;
	unsigned int nl = c->ncpus - nx;
	uint64_t len = sizeof(struct acpi_madt) + nl * sizeof(struct acpi_madt_lapic) +
		       (uint64_t)nx * sizeof(struct acpi_madt_x2apic) +
		       sizeof(struct acpi_madt_ioapic) + sizeof(struct acpi_madt_iso) +
		       sizeof(struct acpi_madt_lapic_nmi) +
		       (nx ? sizeof(struct acpi_madt_x2apic_nmi) : 0);
	struct acpi_madt *t;
	uint8_t *p;
	uint64_t gpa;

	t = acpi_alloc(c, len, &gpa);
	if (!t)
		return -1;
	acpi_header(&t->h, "APIC", len, ACPI_MADT_REVISION);
	t->lapic_address = (uint32_t)X86_LAPIC_ADDR;
	/*
	 * PCAT_COMPAT clear: the guest should not program the (in-kernel)
	 * 8259s; in hardware-reduced mode Linux ignores them anyway and routes
	 * every interrupt through the IOAPIC.
	 */
	t->flags = 0;
	p = (uint8_t *)(t + 1);

	for (unsigned int i = 0; i < c->ncpus; i++) {
		if (i <= ACPI_XAPIC_MAX_ID) {
			struct acpi_madt_lapic e = {ACPI_MADT_LAPIC, sizeof(e), (uint8_t)i,
						    (uint8_t)i, ACPI_MADT_ENABLED};
			memcpy(p, &e, sizeof(e));
			p += sizeof(e);
		} else {
			struct acpi_madt_x2apic e = {.type = ACPI_MADT_X2APIC,
						     .length = sizeof(e),
						     .x2apic_id = i,
						     .flags = ACPI_MADT_ENABLED,
						     .uid = i};
			memcpy(p, &e, sizeof(e));
			p += sizeof(e);
		}
	}
	{
		/*
		 * The IOAPIC ID only has to differ from other IOAPICs' on
		 * x86_64; taking the first unused APIC ID also keeps it clear
		 * of the CPUs' for guests that still share the namespace.
		 */
		struct acpi_madt_ioapic e = {
			.type = ACPI_MADT_IOAPIC,
			.length = sizeof(e),
			.id = c->ncpus <= ACPI_XAPIC_MAX_ID ? (uint8_t)c->ncpus : 0,
			.address = (uint32_t)X86_IOAPIC_ADDR,
			.gsi_base = 0,
		};
		memcpy(p, &e, sizeof(e));
		p += sizeof(e);
	}
	{
		/* The PIT's IRQ0 is wired to IOAPIC pin 2, as on every PC. */
		struct acpi_madt_iso e = {ACPI_MADT_ISO,
					  sizeof(e),
					  0,
					  0,
					  2,
					  ACPI_MPS_POLARITY_HIGH | ACPI_MPS_TRIGGER_EDGE};
		memcpy(p, &e, sizeof(e));
		p += sizeof(e);
	}
	{
		/* NMIs arrive on LINT1 of every processor. */
		struct acpi_madt_lapic_nmi e = {ACPI_MADT_LAPIC_NMI, sizeof(e), 0xff, 0, 1};
		memcpy(p, &e, sizeof(e));
		p += sizeof(e);
	}
	if (nx) {
		struct acpi_madt_x2apic_nmi e = {.type = ACPI_MADT_X2APIC_NMI,
						 .length = sizeof(e),
						 .uid = UINT32_MAX,
						 .lint = 1};
		memcpy(p, &e, sizeof(e));
		p += sizeof(e);
	}
	if ((uint64_t)(p - (uint8_t *)t) != len)
		return -1; /* a size above is wrong: never hand out a bad table */
	acpi_finish(&t->h);
	return acpi_publish(c, gpa);
}

/* ---- MCFG ---------------------------------------------------------- */

static int build_mcfg(struct acpi_ctx *c)
{
	struct acpi_mcfg_alloc e = {0};
	struct acpi_mcfg *t;
	uint64_t gpa;

	if (!c->pci)
		return 0;
	t = acpi_alloc(c, sizeof(*t) + sizeof(e), &gpa);
	if (!t)
		return -1;
	acpi_header(&t->h, "MCFG", sizeof(*t) + sizeof(e), ACPI_MCFG_REVISION);
	e.address = c->pci->ecam_base;
	e.segment = 0;
	e.start_bus = 0;
	e.end_bus = 0;
	memcpy(t + 1, &e, sizeof(e));
	acpi_finish(&t->h);
	return acpi_publish(c, gpa);
}

/* ---- XSDT and RSDP ------------------------------------------------- */

static int build_xsdt(struct acpi_ctx *c, uint64_t *xsdt_gpa)
{
	uint64_t len = sizeof(struct acpi_table_header) + c->nxsdt * sizeof(uint64_t);
	struct acpi_table_header *h;

	h = acpi_alloc(c, len, xsdt_gpa);
	if (!h)
		return -1;
	acpi_header(h, "XSDT", len, ACPI_XSDT_REVISION);
	/* Entries are 8-byte and only 4-byte aligned after the header: copy. */
	memcpy(h + 1, c->xsdt, c->nxsdt * sizeof(uint64_t));
	acpi_finish(h);
	return 0;
}

/* Tables listed in the XSDT, in order (the DSDT hangs off the FADT). */
static int (*const xsdt_tables[])(struct acpi_ctx *c) = {
	build_fadt,
	build_madt,
	build_mcfg,
};

int acpi_build(struct guest_mem *m, uint64_t base, uint64_t max, unsigned int ncpus,
	       const struct pci_platform *pci, uint64_t *rsdp_gpa)
{
	struct acpi_ctx c = {.base = base, .size = max, .ncpus = ncpus, .pci = pci};
	struct acpi_rsdp *rsdp;
	uint64_t gpa, xsdt;

	if (ncpus == 0 || base % ACPI_ALIGN) {
		log_err("acpi", "bad parameters (%u CPUs, base %#llx)", ncpus,
			(unsigned long long)base);
		return -1;
	}
	c.buf = gmem_ptr(m, base, max);
	if (!c.buf || max == 0) {
		log_err("acpi", "area [%#llx, +%#llx) is not guest RAM", (unsigned long long)base,
			(unsigned long long)max);
		return -1;
	}
	memset(c.buf, 0, max);

	/* The RSDP first, at base itself: that is where guests scan for it. */
	rsdp = acpi_alloc(&c, sizeof(*rsdp), &gpa);
	if (!rsdp || build_dsdt(&c))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(xsdt_tables); i++)
		if (xsdt_tables[i](&c))
			return -1;
	if (build_xsdt(&c, &xsdt))
		return -1;

	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, ACPI_OEM_ID, 6);
	rsdp->revision = ACPI_RSDP_REVISION;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_address = xsdt;
	rsdp->checksum = acpi_checksum(rsdp, 20);
	rsdp->extended_checksum = acpi_checksum(rsdp, sizeof(*rsdp));
	*rsdp_gpa = gpa;
	log_debug("acpi", "tables at %#llx..%#llx for %u CPUs", (unsigned long long)base,
		  (unsigned long long)(base + c.used), ncpus);
	return 0;
}

/* ---- AML writer ---------------------------------------------------- */

#define AML_ZERO	   0x00
#define AML_ONE		   0x01
#define AML_NAME	   0x08
#define AML_BYTE	   0x0a
#define AML_WORD	   0x0b
#define AML_DWORD	   0x0c
#define AML_STRING	   0x0d
#define AML_QWORD	   0x0e
#define AML_SCOPE	   0x10
#define AML_BUFFER	   0x11
#define AML_PACKAGE	   0x12
#define AML_METHOD	   0x14
#define AML_DUAL_NAME	   0x2e
#define AML_MULTI_NAME	   0x2f
#define AML_EXT		   0x5b
#define AML_EXT_DEVICE	   0x82
#define AML_ROOT	   '\\'
#define AML_PARENT	   '^'
#define AML_RETURN	   0xa4
#define AML_PKGLEN_RESERVE 4 /* the longest PkgLength encoding */
#define AML_PKGLEN_MAX	   (1u << 28)

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	*a = (struct aml){.buf = buf, .cap = cap};
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->error || n > a->cap - a->len) {
		a->error = true;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

static bool aml_name_char(char ch, bool first)
{
	return (ch >= 'A' && ch <= 'Z') || ch == '_' || (!first && ch >= '0' && ch <= '9');
}

void aml_namestring(struct aml *a, const char *path)
{
	const char *s = path;
	unsigned int nseg = 0;

	while (*s == AML_ROOT || *s == AML_PARENT)
		s++;
	aml_bytes(a, path, (size_t)(s - path)); /* the prefix characters are the encoding */
	if (*s) {
		nseg = 1;
		for (const char *q = s; *q; q++)
			nseg += *q == '.';
	}
	if (nseg == 0) {
		aml_byte(a, AML_ZERO); /* NullName */
		return;
	}
	if (nseg == 2) {
		aml_byte(a, AML_DUAL_NAME);
	} else if (nseg > 2) {
		if (nseg > 255) {
			a->error = true;
			return;
		}
		aml_byte(a, AML_MULTI_NAME);
		aml_byte(a, (uint8_t)nseg);
	}
	for (unsigned int i = 0; i < nseg; i++) {
		char seg[4] = {'_', '_', '_', '_'};
		size_t n = 0;

		for (; *s && *s != '.'; s++, n++) {
			if (n >= 4 || !aml_name_char(*s, n == 0)) {
				a->error = true;
				return;
			}
			seg[n] = *s;
		}
		if (n == 0) {
			a->error = true;
			return;
		}
		if (*s == '.')
			s++;
		aml_bytes(a, seg, 4);
	}
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO);
	} else if (v == 1) {
		aml_byte(a, AML_ONE);
	} else if (v <= UINT8_MAX) {
		aml_byte(a, AML_BYTE);
		aml_le(a, v, 1);
	} else if (v <= UINT16_MAX) {
		aml_byte(a, AML_WORD);
		aml_le(a, v, 2);
	} else if (v <= UINT32_MAX) {
		aml_byte(a, AML_DWORD);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD);
		aml_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING);
	aml_bytes(a, s, strlen(s) + 1);
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = 0;

	/*
	 * Bit 31 zero, three letters of 5 bits each ('A' = 1), four hex
	 * digits; the DWord holds that big-endian: "PNP0501" = 0x0105d041.
	 */
	if (strlen(id) != 7) {
		a->error = true;
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			a->error = true;
			return;
		}
		v = (v << 5) | (uint32_t)(id[i] - '@');
	}
	for (int i = 3; i < 7; i++) {
		char ch = id[i];
		uint32_t d;

		if (ch >= '0' && ch <= '9')
			d = (uint32_t)(ch - '0');
		else if (ch >= 'A' && ch <= 'F')
			d = (uint32_t)(ch - 'A' + 10);
		else {
			a->error = true;
			return;
		}
		v = (v << 4) | d;
	}
	aml_integer(a, __builtin_bswap32(v));
}

/* Open a block: reserve the longest PkgLength, trimmed by aml_end(). */
static size_t aml_open(struct aml *a)
{
	size_t mark = a->len;

	for (int i = 0; i < AML_PKGLEN_RESERVE; i++)
		aml_byte(a, 0);
	return mark;
}

void aml_end(struct aml *a, size_t mark)
{
	size_t body, total = 0, n;
	uint8_t enc[AML_PKGLEN_RESERVE];

	if (a->error || mark > a->len || a->len - mark < AML_PKGLEN_RESERVE) {
		a->error = true;
		return;
	}
	body = a->len - mark - AML_PKGLEN_RESERVE;
	/* PkgLength counts itself: 1 byte up to 63, then 12, 20, 28 bits. */
	for (n = 1; n <= AML_PKGLEN_RESERVE; n++) {
		total = body + n;
		if (n == 1 ? total < 0x40 : total < (1u << (4 + 8 * (n - 1))))
			break;
	}
	if (n > AML_PKGLEN_RESERVE || total >= AML_PKGLEN_MAX) {
		a->error = true;
		return;
	}
	if (n == 1) {
		enc[0] = (uint8_t)total;
	} else {
		enc[0] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
		for (size_t i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	memmove(a->buf + mark + n, a->buf + mark + AML_PKGLEN_RESERVE, body);
	memcpy(a->buf + mark, enc, n);
	a->len = mark + n + body;
}

void aml_name(struct aml *a, const char *path)
{
	aml_byte(a, AML_NAME);
	aml_namestring(a, path);
}

void aml_return(struct aml *a)
{
	aml_byte(a, AML_RETURN);
}

size_t aml_scope(struct aml *a, const char *path)
{
	size_t mark;

	aml_byte(a, AML_SCOPE);
	mark = aml_open(a);
	aml_namestring(a, path);
	return mark;
}

size_t aml_device(struct aml *a, const char *path)
{
	size_t mark;

	aml_byte(a, AML_EXT);
	aml_byte(a, AML_EXT_DEVICE);
	mark = aml_open(a);
	aml_namestring(a, path);
	return mark;
}

size_t aml_method(struct aml *a, const char *path, unsigned int nargs, bool serialized)
{
	size_t mark;

	aml_byte(a, AML_METHOD);
	mark = aml_open(a);
	aml_namestring(a, path);
	if (nargs > 7)
		a->error = true;
	aml_byte(a, (uint8_t)((nargs & 7) | (serialized ? 0x8 : 0)));
	return mark;
}

size_t aml_package(struct aml *a, uint8_t nelems)
{
	size_t mark;

	aml_byte(a, AML_PACKAGE);
	mark = aml_open(a);
	aml_byte(a, nelems);
	return mark;
}

void aml_buffer(struct aml *a, const void *data, size_t len)
{
	size_t mark;

	aml_byte(a, AML_BUFFER);
	mark = aml_open(a);
	aml_integer(a, len);
	aml_bytes(a, data, len);
	aml_end(a, mark);
}

void aml_res_io(struct aml *a, uint16_t base, uint8_t len)
{
	/* Small item 0x08 (I/O port), 7 bytes: 16-bit decode, fixed base. */
	uint8_t d[8] = {0x47,	       0x01,
			(uint8_t)base, (uint8_t)(base >> 8),
			(uint8_t)base, (uint8_t)(base >> 8),
			0x01,	       len};

	aml_bytes(a, d, sizeof(d));
}

void aml_res_irq(struct aml *a, uint8_t irq)
{
	/* Small item 0x04 (IRQ), 2 bytes: the mask only, i.e. edge, active high. */
	uint16_t mask = (uint16_t)(1u << (irq & 15));
	uint8_t d[3] = {0x22, (uint8_t)mask, (uint8_t)(mask >> 8)};

	if (irq > 15)
		a->error = true;
	else
		aml_bytes(a, d, sizeof(d));
}

void aml_res_end(struct aml *a)
{
	/* End tag; a checksum of 0 means "treat as correct". */
	uint8_t d[2] = {0x79, 0x00};

	aml_bytes(a, d, sizeof(d));
}

/* Large resource items (6.4.3): tag, 16-bit length, then the body. */
static void aml_res_large(struct aml *a, uint8_t tag, const uint8_t *body, uint16_t len)
{
	aml_byte(a, tag);
	aml_le(a, len, 2);
	aml_bytes(a, body, len);
}

/* Address space descriptor header: type, general flags, type-specific flags. */
#define AML_ADDR_MEMORY 0
#define AML_ADDR_BUS	2
#define AML_ADDR_FIXED	0x0c /* _MIF | _MAF, positive decode, producer */
#define AML_MEM_RW	0x01 /* ReadWrite, NonCacheable, AddressRangeMemory */

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Word/DWord/QWord address space: granularity, min, max, translation, length of 'w' bytes. */
static void aml_res_addr(struct aml *a, uint8_t tag, unsigned int w, uint8_t type, uint8_t tflags,
			 uint64_t min, uint64_t len)
{
	uint8_t d[3 + 5 * 8] = {type, AML_ADDR_FIXED, tflags};

	if (len == 0 || min + len - 1 < min) {
		a->error = true;
		return;
	}
	put_le(d + 3 + 1 * w, min, w);
	put_le(d + 3 + 2 * w, min + len - 1, w);
	put_le(d + 3 + 4 * w, len, w);
	aml_res_large(a, tag, d, (uint16_t)(3 + 5 * w));
}

void aml_res_bus(struct aml *a, uint16_t min, uint16_t max)
{
	if (max < min)
		a->error = true;
	else
		aml_res_addr(a, 0x88, 2, AML_ADDR_BUS, 0, min, (uint64_t)max - min + 1);
}

void aml_res_mem32(struct aml *a, uint32_t base, uint32_t len)
{
	if ((uint64_t)base + len - 1 > UINT32_MAX)
		a->error = true;
	else
		aml_res_addr(a, 0x87, 4, AML_ADDR_MEMORY, AML_MEM_RW, base, len);
}

void aml_res_mem64(struct aml *a, uint64_t base, uint64_t len)
{
	aml_res_addr(a, 0x8a, 8, AML_ADDR_MEMORY, AML_MEM_RW, base, len);
}

void aml_res_mem32_fixed(struct aml *a, uint32_t base, uint32_t len)
{
	uint8_t d[9] = {0x01}; /* ReadWrite */

	put_le(d + 1, base, 4);
	put_le(d + 5, len, 4);
	aml_res_large(a, 0x86, d, sizeof(d));
}
