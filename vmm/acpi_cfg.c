#include "vmm/acpi_cfg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "firmware/topology.h"
#include "include/memplug/layout.h"

_Static_assert(MEMMAP_MAX_RANGES <= ACPI_MAX_RAM_RANGES,
	       "every memmap_numa range needs an SRAT RAM entry");

int acpi_cfg_build(const struct config *cfg, const struct memmap *map,
		   struct acpi_config *ac, char *err, size_t errlen)
{
	struct memmap_range ranges[MEMMAP_MAX_RANGES];
	struct cpu_topology topo;
	unsigned int max_apic;
	int n;

	if (cfg->cpus > ACPI_CFG_MAX_CPUS) {
		snprintf(err, errlen, "%u vCPUs: the IOAPIC's APIC id comes "
			 "after the last vCPU's, so at most %u", cfg->cpus,
			 ACPI_CFG_MAX_CPUS);
		return -EINVAL;
	}
	cpu_topology_init(&topo, cfg->cpus, cfg->numa_nodes);
	max_apic = cpu_topology_max_apic_id(&topo);
	if (max_apic + 1 > ACPI_CFG_MAX_CPUS) {
		snprintf(err, errlen, "%u vCPUs on %u nodes: the last APIC id "
			 "would be %u (one socket per node, %u bits for the "
			 "core) and the IOAPIC's the next, above %u", cfg->cpus,
			 topo.nodes, max_apic, topo.core_bits,
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
		.ioapic_id = (uint8_t)(max_apic + 1),
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
	for (unsigned int i = 0; i < cfg->cpus; i++) {
		ac->cpu_pxm[i] = (uint8_t)cpu_topology_node(&topo, i);
		ac->cpu_apic_id[i] = (uint8_t)cpu_topology_apic_id(&topo, i);
	}
	return 0;
}

/* One table as DIR/SIG.dat. */
static int write_table(const char *dir, const char *sig, const uint8_t *p,
		       size_t len, char *err, size_t errlen)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, sig);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
		int e = errno;

		snprintf(err, errlen, "--dump-acpi: cannot write %s: %s", path,
			 strerror(e));
		if (f)
			fclose(f);
		return -e;
	}
	return 0;
}

int acpi_cfg_dump(const struct config *cfg, const struct memmap *map,
		  const char *dir, char *err, size_t errlen)
{
	static uint8_t buf[LAYOUT_ACPI_END - LAYOUT_ACPI];
	struct acpi_config ac;
	struct acpi_layout l;
	uint64_t tables[6];
	int n = 5, r;

	if ((r = acpi_cfg_build(cfg, map, &ac, err, errlen)) < 0 ||
	    (r = acpi_build(&ac, LAYOUT_ACPI, buf, sizeof(buf), &l, err,
			    errlen)) < 0)
		return r;
	if ((r = write_table(dir, "RSDP", buf + (l.rsdp - LAYOUT_ACPI), 36, err,
			     errlen)) < 0)
		return r;
	memcpy(tables, (uint64_t[]){ l.xsdt, l.fadt, l.facs, l.madt, l.dsdt },
	       5 * sizeof(tables[0]));
	if (l.srat)
		tables[n++] = l.srat;
	for (int i = 0; i < n; i++) {
		const uint8_t *t = buf + (tables[i] - LAYOUT_ACPI);
		char sig[5] = { 0 };
		uint32_t len;

		memcpy(sig, t, 4);
		memcpy(&len, t + 4, 4);
		if ((r = write_table(dir, sig, t, len, err, errlen)) < 0)
			return r;
	}
	return 0;
}
