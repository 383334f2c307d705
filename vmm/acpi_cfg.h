/* What memplug tells acpi_build: its configuration and memory map turned
 * into a struct acpi_config. Pure (no KVM, no I/O), so the golden tables in
 * tests/acpi/ are built by this same function. */
#ifndef MEMPLUG_VMM_ACPI_CFG_H
#define MEMPLUG_VMM_ACPI_CFG_H

#include <stddef.h>

#include "acpi/tables.h"
#include "vmm/config.h"
#include "vmm/memmap.h"

/* APIC IDs are 8 bits in the MADT, the IOAPIC takes the ID after the last
 * vCPU, and 255 is the broadcast ID. */
#define ACPI_CFG_MAX_CPUS 254

/* Fills ac for cfg's vCPUs and NUMA nodes on map (from memmap_plan_block
 * with cfg's --memory). Returns 0, or -EINVAL with a message in err. */
int acpi_cfg_build(const struct config *cfg, const struct memmap *map,
		   struct acpi_config *ac, char *err, size_t errlen);

/* The tables memplug would give this machine, as DIR/SIG.dat (RSDP, XSDT,
 * FACP, FACS, APIC, DSDT, SRAT): iasl -d disassembles them. Returns 0 or
 * -errno with a message in err. */
int acpi_cfg_dump(const struct config *cfg, const struct memmap *map,
		  const char *dir, char *err, size_t errlen);

#endif
