/* ACPI table builders. Pure: a description of the machine in, table bytes
 * out, laid out for a given guest-physical base address. No KVM, no I/O. */
#ifndef MEMPLUG_ACPI_TABLES_H
#define MEMPLUG_ACPI_TABLES_H

#include <stddef.h>
#include <stdint.h>

struct acpi_config {
	unsigned int ncpus; /* one LAPIC + one processor device each; APIC id = index */
	uint32_t lapic_addr;
	uint32_t ioapic_addr;
	uint8_t ioapic_id;
	uint8_t sci_irq; /* GSI of the SCI: level, active high */
	uint16_t pm1a_evt_port, pm1a_cnt_port, pm_tmr_port, gpe0_port;
	uint8_t gpe0_len; /* whole block: status half + enable half */
	uint16_t reset_port;
	uint8_t reset_value;
	uint8_t s5_slp_typ; /* SLP_TYP written to PM1a_CNT for S5 */
};

/* Where each table landed, as guest-physical addresses (for tests and logs). */
struct acpi_layout {
	uint64_t rsdp, xsdt, fadt, facs, madt, dsdt;
	size_t size; /* bytes used in the output buffer */
};

/* Build RSDP, XSDT, FADT, FACS, MADT and DSDT into out[0..out_size), which the
 * caller copies to guest-physical address base (16-byte aligned; the RSDP is
 * placed first, at base). Returns 0 or -ENOSPC / -EINVAL.
 *
 * -ENOSPC: out is too small; nothing was written. -EINVAL: base is not
 * 16-byte aligned or the tables would not all lie below 4 GiB (the FADT has
 * 32-bit pointers), ncpus is not 1..255 (8-bit xAPIC ids), sci_irq is not an
 * ISA IRQ other than 0 and 2 (the timer's override), gpe0_len is 0 or odd, or
 * a port is 0. layout may be NULL. */
int acpi_build(const struct acpi_config *cfg, uint64_t base, uint8_t *out,
	       size_t out_size, struct acpi_layout *layout);

#endif
