#include "vmm/acpi_cfg.h"

#include <errno.h>
#include <stdio.h>

#include "include/memplug/layout.h"

_Static_assert(MEMMAP_MAX_RANGES <= ACPI_MAX_RAM_RANGES,
	       "every memmap_numa range needs an SRAT RAM entry");

int acpi_cfg_build(const struct config *cfg, const struct memmap *map,
		   struct acpi_config *ac, char *err, size_t errlen)
{
	struct memmap_range ranges[MEMMAP_MAX_RANGES];
	int n;

	if (cfg->cpus > ACPI_CFG_MAX_CPUS) {
		snprintf(err, errlen, "%u vCPUs: the IOAPIC's APIC id comes "
			 "after the last vCPU's, so at most %u", cfg->cpus,
			 ACPI_CFG_MAX_CPUS);
		return -EINVAL;
	}
	n = memmap_numa(map, cfg->numa_nodes, ranges, MEMMAP_MAX_RANGES, err,
			errlen);
	if (n < 0)
		return n;
	*ac = (struct acpi_config){
		.ncpus = cfg->cpus,
		.lapic_addr = (uint32_t)LAYOUT_LAPIC,
		.ioapic_addr = (uint32_t)LAYOUT_IOAPIC,
		.ioapic_id = (uint8_t)cfg->cpus,
		.sci_irq = ACPI_SCI_IRQ,
		.pm1a_evt_port = PORT_ACPI_PM1A_EVT,
		.pm1a_cnt_port = PORT_ACPI_PM1A_CNT,
		.pm_tmr_port = PORT_ACPI_PM_TMR,
		.gpe0_port = PORT_ACPI_GPE0,
		.gpe0_len = ACPI_GPE0_LEN,
		.reset_port = PORT_ACPI_RESET,
		.reset_value = ACPI_PM_RESET_VALUE,
		.s5_slp_typ = ACPI_S5_SLP_TYP,
		.memhp_slots = map->slots,
		.memhp_port = PORT_MEMHP,
		.memhp_gpe = GPE_MEMHP,
		.numa_nodes = cfg->numa_nodes,
		.hp_base = map->hp_base,
		.hp_size = map->hp_size,
		.nram = (unsigned int)n,
	};
	for (int i = 0; i < n; i++)
		ac->ram[i] = (struct acpi_mem_range){ ranges[i].base,
						      ranges[i].size,
						      ranges[i].node };
	/* vCPUs round-robin over the nodes. */
	for (unsigned int i = 0; i < cfg->cpus; i++)
		ac->cpu_pxm[i] = (uint8_t)(i % cfg->numa_nodes);
	return 0;
}
