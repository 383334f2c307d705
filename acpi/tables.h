/* ACPI table builders. Pure: a description of the machine in, table bytes
 * out, laid out for a given guest-physical base address. No KVM, no I/O. */
#ifndef MEMPLUG_ACPI_TABLES_H
#define MEMPLUG_ACPI_TABLES_H

#include <stddef.h>
#include <stdint.h>

#include "include/memplug/hw/memhp.h"

#define ACPI_MAX_RAM_RANGES 8

struct acpi_config {
	unsigned int ncpus; /* one LAPIC + one processor device each */
	uint8_t cpu_apic_id[255]; /* by vCPU index (firmware/topology.h) */
	uint32_t lapic_addr;
	uint32_t ioapic_addr;
	uint8_t ioapic_id;
	uint8_t sci_irq; /* GSI of the SCI: level, active high */
	uint16_t pm1a_evt_port, pm1a_cnt_port, pm_tmr_port, gpe0_port;
	uint8_t gpe0_len; /* whole block: status half + enable half */
	uint16_t reset_port;
	uint8_t reset_value;
	uint8_t s5_slp_typ; /* SLP_TYP written to PM1a_CNT for S5 */

	/* Memory hotplug: 0 slots = none (no MHPC, no _E0x, SRAT only if
	 * numa_nodes > 1). */
	unsigned int memhp_slots; /* up to MEMHP_MAX_SLOTS */
	uint16_t memhp_port;	  /* MEMHP_REGS_LEN bytes, docs/memhp.md */
	uint8_t memhp_gpe;	  /* GPE0 bit whose _Exx method runs the scan */
	/* NUMA: proximity domain of each vCPU and boot RAM ranges per domain.
	 * 0 nodes is taken as 1, so callers that predate NUMA keep working. */
	unsigned int numa_nodes; /* >= 1 */
	uint8_t cpu_pxm[255];	 /* by vCPU index */
	struct acpi_mem_range {
		uint64_t base, size;
		uint32_t pxm;
	} ram[ACPI_MAX_RAM_RANGES];
	unsigned int nram;
	/* Hotplug window: SRAT enabled + hotpluggable; size 0 = none, and
	 * ignored without slots. */
	uint64_t hp_base, hp_size;
};

/* Where each table landed, as guest-physical addresses (for tests and logs). */
struct acpi_layout {
	uint64_t rsdp, xsdt, fadt, facs, madt, dsdt;
	uint64_t srat; /* 0: no SRAT */
	size_t size; /* bytes used in the output buffer */
};

/* Build RSDP, XSDT, FADT, FACS, MADT, SRAT (if any) and DSDT into
 * out[0..out_size), which the caller copies to guest-physical address base
 * (16-byte aligned; the RSDP is placed first, at base). Returns 0 or
 * -ENOSPC / -EINVAL (or the AML emitter's error) with a message in err
 * naming the field and its value.
 *
 * The SRAT is built when memhp_slots > 0 or numa_nodes > 1: one entry per
 * vCPU, one per boot RAM range and, with slots and hp_size > 0, one for the
 * hotplug window.
 *
 * -ENOSPC: out is too small; nothing was written. -EINVAL: base is not
 * 16-byte aligned or the tables would not all lie below 4 GiB (the FADT has
 * 32-bit pointers), ncpus is not 1..255 (8-bit xAPIC ids), a vCPU's APIC
 * id is 255 (broadcast), the IOAPIC's or another vCPU's, sci_irq is not an
 * ISA IRQ other than 0 and 2 (the timer's override), gpe0_len is 0 or odd, or
 * a port is 0. With memory hotplug: more than MEMHP_MAX_SLOTS slots, memhp_port 0 or its
 * block past 0xffff, memhp_gpe outside the GPE0 block. For the SRAT: a
 * vCPU or RAM range on a node >= numa_nodes, more than 8 RAM ranges or none
 * at all, an empty range, one that wraps or overlaps another (or the
 * window). The RAM ranges must also cover the e820 RAM (Linux drops the
 * SRAT's nodes if more than 1 MiB is left out); that is the caller's to get
 * right. layout may be NULL. */
int acpi_build(const struct acpi_config *cfg, uint64_t base, uint8_t *out,
	       size_t out_size, struct acpi_layout *layout, char *err,
	       size_t errlen);

#endif
