/* SPDX-License-Identifier: MIT */
/*
 * acpi.h - ACPI tables for an x86_64 guest, and the small AML writer the
 * DSDT is built with.
 *
 * Debian ships no ACPICA headers, so the table layouts are defined here,
 * packed, after the ACPI 6.x specification (chapter 5.2); ACPICA's
 * actbl*.h names are given where ours differ.  Everything is little-endian.
 */
#ifndef KTVM_X86_ACPI_H
#define KTVM_X86_ACPI_H

#include "vmm/ktvm.h"

struct pci_platform;

#define ACPI_PACKED __attribute__((packed))

/* 5.2.5.3: Root System Description Pointer, revision 2 (struct acpi_table_rsdp) */
struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;  /* of the first 20 bytes (the ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision; /* 2 */
	uint32_t rsdt_address;
	uint32_t length; /* 36 */
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* of all 36 bytes */
	uint8_t reserved[3];
} ACPI_PACKED;

/* 5.2.6: the header of every table but the RSDP */
struct acpi_table_header {
	char signature[4];
	uint32_t length; /* of the whole table, header included */
	uint8_t revision;
	uint8_t checksum; /* the whole table sums to 0 */
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char asl_compiler_id[4];
	uint32_t asl_compiler_revision;
} ACPI_PACKED;

/* 5.2.3.2: Generic Address Structure */
struct acpi_gas {
	uint8_t space_id; /* ACPI_GAS_* */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_width; /* 1 = byte, 2 = word, 3 = dword, 4 = qword */
	uint64_t address;
} ACPI_PACKED;

#define ACPI_GAS_MEMORY 0
#define ACPI_GAS_IO	1

/* 5.2.9: Fixed ACPI Description Table, revision 6 (struct acpi_table_fadt) */
struct acpi_fadt {
	struct acpi_table_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_revision;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control, sleep_status;
	uint64_t hypervisor_id; /* ACPI 6.0+ */
} ACPI_PACKED;

/* FADT flags (Table 5.10) */
#define ACPI_FADT_RESET_REG_SUP (1u << 10)
#define ACPI_FADT_HW_REDUCED	(1u << 20)
/* FADT IA-PC boot architecture flags (Table 5.11) */
#define ACPI_FADT_LEGACY_DEVICES (1u << 0)
#define ACPI_FADT_8042		 (1u << 1)
#define ACPI_FADT_NO_VGA	 (1u << 2)
#define ACPI_FADT_NO_MSI	 (1u << 3)
#define ACPI_FADT_NO_ASPM	 (1u << 4)
#define ACPI_FADT_NO_CMOS_RTC	 (1u << 5)

/* 5.2.12: Multiple APIC Description Table (struct acpi_table_madt) */
struct acpi_madt {
	struct acpi_table_header h;
	uint32_t lapic_address;
	uint32_t flags; /* ACPI_MADT_PCAT_COMPAT */
} ACPI_PACKED;

#define ACPI_MADT_PCAT_COMPAT (1u << 0)

enum acpi_madt_type {
	ACPI_MADT_LAPIC = 0,
	ACPI_MADT_IOAPIC = 1,
	ACPI_MADT_ISO = 2,
	ACPI_MADT_LAPIC_NMI = 4,
	ACPI_MADT_X2APIC = 9,
	ACPI_MADT_X2APIC_NMI = 10,
};

struct acpi_madt_lapic {
	uint8_t type, length; /* 0, 8 */
	uint8_t uid;	      /* ACPI processor UID */
	uint8_t apic_id;
	uint32_t flags; /* ACPI_MADT_ENABLED */
} ACPI_PACKED;

#define ACPI_MADT_ENABLED (1u << 0)

struct acpi_madt_ioapic {
	uint8_t type, length; /* 1, 12 */
	uint8_t id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} ACPI_PACKED;

/* Interrupt Source Override */
struct acpi_madt_iso {
	uint8_t type, length; /* 2, 10 */
	uint8_t bus;	      /* 0: ISA */
	uint8_t source;	      /* ISA IRQ */
	uint32_t gsi;
	uint16_t flags; /* ACPI_MPS_* */
} ACPI_PACKED;

/* MPS INTI flags (Table 5.50) */
#define ACPI_MPS_POLARITY_HIGH 0x1
#define ACPI_MPS_POLARITY_LOW  0x3
#define ACPI_MPS_TRIGGER_EDGE  0x4
#define ACPI_MPS_TRIGGER_LEVEL 0xc

struct acpi_madt_lapic_nmi {
	uint8_t type, length; /* 4, 6 */
	uint8_t uid;	      /* 0xff: all processors */
	uint16_t flags;
	uint8_t lint;
} ACPI_PACKED;

struct acpi_madt_x2apic {
	uint8_t type, length; /* 9, 16 */
	uint16_t reserved;
	uint32_t x2apic_id;
	uint32_t flags;
	uint32_t uid;
} ACPI_PACKED;

struct acpi_madt_x2apic_nmi {
	uint8_t type, length; /* 10, 12 */
	uint16_t flags;
	uint32_t uid; /* 0xffffffff: all processors */
	uint8_t lint;
	uint8_t reserved[3];
} ACPI_PACKED;

/* PCI Firmware Specification 3.x, 4.1.2: the MCFG table (struct acpi_table_mcfg) */
struct acpi_mcfg {
	struct acpi_table_header h;
	uint8_t reserved[8];
} ACPI_PACKED;

struct acpi_mcfg_alloc {
	uint64_t address; /* ECAM base of bus start_bus */
	uint16_t segment;
	uint8_t start_bus, end_bus;
	uint32_t reserved;
} ACPI_PACKED;

/* Table revisions we emit */
#define ACPI_RSDP_REVISION	 2
#define ACPI_XSDT_REVISION	 1
#define ACPI_FADT_REVISION	 6
#define ACPI_FADT_MINOR_REVISION 0
#define ACPI_MADT_REVISION	 4
#define ACPI_DSDT_REVISION	 2 /* 2+: AML integers are 64-bit */
#define ACPI_MCFG_REVISION	 1

#define ACPI_OEM_ID	"KTVM  "
#define ACPI_CREATOR_ID "KTVM"

/*
 * Build RSDP (at 'base', which must be 16-byte aligned: where guests scan
 * for it), XSDT, FADT, MADT and DSDT in the 'max' bytes of guest RAM from
 * 'base' (X86_ACPI_ADDR / X86_ACPI_MAX), for 'ncpus' vCPUs with APIC IDs
 * 0..ncpus-1.  With 'pci' (may be NULL: no PCI) also the MCFG table and,
 * in the DSDT, the PCI host bridge \_SB.PCI0 (windows, _PRT) and a
 * motherboard resource device reserving the ECAM area.  Returns 0 and the
 * RSDP's address, or -1 after logging why.
 */
int acpi_build(struct guest_mem *m, uint64_t base, uint64_t max, unsigned int ncpus,
	       const struct pci_platform *pci, uint64_t *rsdp_gpa);

/* The byte that makes [p, p + len) sum to zero with it. */
uint8_t acpi_checksum(const void *p, size_t len);

/* ------------------------------------------------------------------ */
/* AML writer (ACPI 6.x chapter 20): enough to grow the DSDT            */
/* ------------------------------------------------------------------ */
/*
 * Writes append to buf; a write past cap or a malformed name sets 'error'
 * and later writes are dropped, so a builder checks once at the end.
 * Scope/device/method/package open a block and return a mark that
 * aml_end() closes, filling in the block's PkgLength.
 */
struct aml {
	uint8_t *buf;
	size_t len, cap;
	bool error;
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);
/* "\\_SB_.COM1", "^FOO", "_S5" (segments are padded with '_' to 4 chars) */
void aml_namestring(struct aml *a, const char *path);
void aml_integer(struct aml *a, uint64_t v); /* shortest encoding */
void aml_string(struct aml *a, const char *s);
void aml_eisaid(struct aml *a, const char *id); /* "PNP0501" as its compressed integer */
void aml_buffer(struct aml *a, const void *data, size_t len);
/* Name(path, <object that follows>) */
void aml_name(struct aml *a, const char *path);
/* Return(<object that follows>) */
void aml_return(struct aml *a);
size_t aml_scope(struct aml *a, const char *path);
size_t aml_device(struct aml *a, const char *path);
size_t aml_method(struct aml *a, const char *path, unsigned int nargs, bool serialized);
size_t aml_package(struct aml *a, uint8_t nelems);
void aml_end(struct aml *a, size_t mark);

/* Resource descriptors (6.4), for a ResourceTemplate written with aml_buffer() */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len);
void aml_res_irq(struct aml *a, uint8_t irq); /* IRQNoFlags: edge, active high */
/* WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, min, max, 0, n) */
void aml_res_bus(struct aml *a, uint16_t min, uint16_t max);
/* DWordMemory / QWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite) */
void aml_res_mem32(struct aml *a, uint32_t base, uint32_t len);
void aml_res_mem64(struct aml *a, uint64_t base, uint64_t len);
/* Memory32Fixed(ReadWrite, base, len) */
void aml_res_mem32_fixed(struct aml *a, uint32_t base, uint32_t len);
void aml_res_end(struct aml *a);

#endif
