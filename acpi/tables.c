/* RSDP, XSDT, FADT, FACS, MADT, SRAT and DSDT for a memplug VM (ACPI 6.3
 * layouts).
 *
 * All tables go into one buffer that the VMM copies to guest-physical base:
 * the RSDP first (the BIOS scan area wants it 16-byte aligned), then the
 * others, each 16-byte aligned, the FACS 64-byte aligned as the spec
 * requires. Sizes are known before anything is written, so a buffer that
 * is too small is refused without being touched. */
#include "acpi/tables.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "acpi/aml.h"
#include "acpi/dsdt.h"
#include "include/memplug/hw/pm.h"

#define OEM_ID "MEMPLG"
#define OEM_TABLE_ID "MEMPLUG "
#define OEM_REVISION 1
#define CREATOR_ID "MPLG"
#define CREATOR_REVISION 1

#define HEADER_LEN 36
#define RSDP_LEN 36
#define XSDT_MAX_ENTRIES 3 /* FADT, MADT, SRAT */
#define FADT_LEN 276
#define FACS_LEN 64
#define MADT_LAPIC_LEN 8
#define MADT_IOAPIC_LEN 12
#define MADT_ISO_LEN 10
#define MADT_NMI_LEN 6
#define MADT_FIXED_LEN (HEADER_LEN + 8 + MADT_IOAPIC_LEN + 2 * MADT_ISO_LEN + \
			MADT_NMI_LEN)
#define SRAT_FIXED_LEN (HEADER_LEN + 4 + 8) /* + two reserved fields */
#define SRAT_CPU_LEN 16
#define SRAT_MEM_LEN 40

/* xAPIC ids are 8 bits and 0xff is the broadcast id. */
#define MAX_CPUS 255

/* Generic Address Structure access sizes. */
#define GAS_BYTE 1
#define GAS_WORD 2
#define GAS_DWORD 3

/* FADT Flags. */
#define FADT_WBINVD (1u << 0)
#define FADT_PROC_C1 (1u << 2)
#define FADT_SLP_BUTTON (1u << 5) /* no fixed-feature sleep button */
#define FADT_TMR_VAL_EXT (1u << 8) /* 32-bit PM timer */
#define FADT_RESET_REG_SUP (1u << 10)
/* FADT IAPC_BOOT_ARCH. */
#define IAPC_VGA_NOT_PRESENT (1u << 2)
#define IAPC_MSI_NOT_SUPPORTED (1u << 3)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)
/* Worst-case C2/C3 latencies above 100 and 1000 us mean "not supported". */
#define FADT_C2_LATENCY_NONE 101
#define FADT_C3_LATENCY_NONE 1001
#define FADT_REVISION 6
#define FADT_MINOR_REVISION 3 /* ACPI 6.3, the newest iasl 20200925 knows */

#define MADT_REVISION 5
#define MADT_PCAT_COMPAT 1u
#define MADT_LAPIC_ENABLED 1u
#define MADT_ALL_PROCESSORS 0xff
/* MPS INTI flags: polarity in bits 1-0, trigger mode in bits 3-2. */
#define MPS_ACTIVE_HIGH 0x1
#define MPS_LEVEL 0xc

#define SRAT_REVISION 3
#define SRAT_CPU_ENABLED 1u
#define SRAT_MEM_ENABLED 1u
#define SRAT_MEM_HOTPLUGGABLE 2u

/* Offsets of each table in the output buffer. */
struct placement {
	size_t rsdp, xsdt, fadt, facs, madt, srat, dsdt, end;
};

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* Make bytes [0, len) of t sum to zero through the byte at off. */
static void checksum(uint8_t *t, size_t len, size_t off)
{
	t[off] = 0;
	t[off] = (uint8_t)-sum(t, len);
}

static void header(uint8_t *t, const char *sig, size_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put_le(t + 4, len, 4);
	t[8] = rev;
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, OEM_TABLE_ID, 8);
	put_le(t + 24, OEM_REVISION, 4);
	memcpy(t + 28, CREATOR_ID, 4);
	put_le(t + 32, CREATOR_REVISION, 4);
}

static void gas_io(uint8_t *p, unsigned int bytes, uint8_t access,
		   uint16_t port)
{
	p[0] = AML_SPACE_IO; /* GAS address space ids are the AML region spaces */
	p[1] = (uint8_t)(bytes * 8);
	p[2] = 0;
	p[3] = access;
	put_le(p + 4, port, 8);
}

static size_t align_up(size_t v, size_t align)
{
	return (v + align - 1) & ~(align - 1);
}

static size_t madt_len(const struct acpi_config *cfg)
{
	return MADT_FIXED_LEN + (size_t)cfg->ncpus * MADT_LAPIC_LEN;
}

/* Callers from before NUMA leave numa_nodes at 0: one node. */
static unsigned int numa_nodes(const struct acpi_config *cfg)
{
	return cfg->numa_nodes ? cfg->numa_nodes : 1;
}

/* Linux learns of hotpluggable memory only from the SRAT (and sizes
 * max_possible_pfn by it), so memory hotplug wants one even on one node. */
static bool has_srat(const struct acpi_config *cfg)
{
	return cfg->memhp_slots || numa_nodes(cfg) > 1;
}

/* No controller, no window: without slots nothing can be plugged there. */
static bool has_hp_window(const struct acpi_config *cfg)
{
	return cfg->memhp_slots && cfg->hp_size;
}

static size_t srat_len(const struct acpi_config *cfg)
{
	size_t nmem = cfg->nram + (has_hp_window(cfg) ? 1 : 0);

	return SRAT_FIXED_LEN + (size_t)cfg->ncpus * SRAT_CPU_LEN +
	       nmem * SRAT_MEM_LEN;
}

/* [base, base + size) is not empty and does not wrap. */
static bool range_ok(uint64_t base, uint64_t size)
{
	return size && size - 1 <= UINT64_MAX - base;
}

static bool ranges_overlap(uint64_t b1, uint64_t s1, uint64_t b2, uint64_t s2)
{
	return b1 <= b2 + (s2 - 1) && b2 <= b1 + (s1 - 1);
}

/* Returns -EINVAL with the message in err. */
__attribute__((format(printf, 3, 4)))
static int refuse(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int check_memhp(const struct acpi_config *cfg, char *err,
		       size_t errlen)
{
	if (!cfg->memhp_slots)
		return 0;
	if (cfg->memhp_slots > MEMHP_MAX_SLOTS)
		return refuse(err, errlen, "%u memory hotplug slots: at most %d",
			      cfg->memhp_slots, MEMHP_MAX_SLOTS);
	if (!cfg->memhp_port ||
	    cfg->memhp_port > 0x10000 - MEMHP_REGS_LEN)
		return refuse(err, errlen, "memory hotplug port 0x%x: its "
			      "0x%x-byte block must lie in ports 1-0xffff",
			      cfg->memhp_port, MEMHP_REGS_LEN);
	/* The GPE0 block's status half has gpe0_len / 2 bytes of GPEs. */
	if (cfg->memhp_gpe >= cfg->gpe0_len / 2 * 8)
		return refuse(err, errlen, "memory hotplug GPE %u is past the "
			      "%u GPEs of the GPE0 block", cfg->memhp_gpe,
			      cfg->gpe0_len / 2 * 8);
	return 0;
}

/* Linux checks little in the SRAT and then gives up on NUMA as a whole
 * (overlapping nodes, RAM outside every node), so refuse such tables here,
 * where the mistake is. Covering all of the e820 RAM is left to the caller,
 * which knows the memory map. */
/* Linux takes each LAPIC entry's id as a CPU's; a duplicate or the
 * broadcast id would lose a vCPU. */
static int check_apic_ids(const struct acpi_config *cfg, char *err,
			  size_t errlen)
{
	for (unsigned int i = 0; i < cfg->ncpus; i++) {
		if (cfg->cpu_apic_id[i] == 0xff)
			return refuse(err, errlen, "vCPU %u: APIC id 255 is the "
				      "broadcast id", i);
		if (cfg->cpu_apic_id[i] == cfg->ioapic_id)
			return refuse(err, errlen, "vCPU %u: APIC id %u is the "
				      "IOAPIC's", i, cfg->cpu_apic_id[i]);
		for (unsigned int j = 0; j < i; j++)
			if (cfg->cpu_apic_id[j] == cfg->cpu_apic_id[i])
				return refuse(err, errlen, "vCPUs %u and %u: "
					      "both APIC id %u", j, i,
					      cfg->cpu_apic_id[i]);
	}
	return 0;
}

static int check_srat(const struct acpi_config *cfg, char *err,
		      size_t errlen)
{
	unsigned int nodes = numa_nodes(cfg);

	if (cfg->nram > ACPI_MAX_RAM_RANGES)
		return refuse(err, errlen, "%u RAM ranges: at most %d",
			      cfg->nram, ACPI_MAX_RAM_RANGES);
	if (!has_srat(cfg))
		return 0;
	if (!cfg->nram)
		return refuse(err, errlen, "the SRAT needs the boot RAM ranges "
			      "and there are none");
	if (has_hp_window(cfg) && !range_ok(cfg->hp_base, cfg->hp_size))
		return refuse(err, errlen, "hotplug window 0x%" PRIx64
			      "+0x%" PRIx64 " wraps", cfg->hp_base,
			      cfg->hp_size);
	for (unsigned int i = 0; i < cfg->ncpus; i++)
		if (cfg->cpu_pxm[i] >= nodes)
			return refuse(err, errlen, "vCPU %u is on node %u of "
				      "%u", i, cfg->cpu_pxm[i], nodes);
	for (unsigned int i = 0; i < cfg->nram; i++) {
		const struct acpi_mem_range *r = &cfg->ram[i];

		if (r->pxm >= nodes)
			return refuse(err, errlen, "RAM range %u is on node "
				      "%u of %u", i, r->pxm, nodes);
		if (!range_ok(r->base, r->size))
			return refuse(err, errlen, "RAM range %u (0x%" PRIx64
				      "+0x%" PRIx64 ") is empty or wraps", i,
				      r->base, r->size);
		for (unsigned int j = 0; j < i; j++)
			if (ranges_overlap(r->base, r->size, cfg->ram[j].base,
					   cfg->ram[j].size))
				return refuse(err, errlen, "RAM range %u "
					      "overlaps RAM range %u", i, j);
		if (has_hp_window(cfg) &&
		    ranges_overlap(r->base, r->size, cfg->hp_base,
				   cfg->hp_size))
			return refuse(err, errlen, "RAM range %u overlaps the "
				      "hotplug window", i);
	}
	return 0;
}

static int check_config(const struct acpi_config *cfg, char *err,
			size_t errlen)
{
	const struct {
		uint16_t port;
		const char *name;
	} ports[] = {
		{ cfg->pm1a_evt_port, "PM1a event" },
		{ cfg->pm1a_cnt_port, "PM1a control" },
		{ cfg->pm_tmr_port, "PM timer" },
		{ cfg->gpe0_port, "GPE0" },
		{ cfg->reset_port, "reset" },
	};

	if (cfg->ncpus < 1 || cfg->ncpus > MAX_CPUS)
		return refuse(err, errlen, "%u vCPUs: the MADT takes 1 to %d "
			      "(8-bit xAPIC ids)", cfg->ncpus, MAX_CPUS);
	/* The SCI gets an ISA interrupt source override; IRQ 0 and GSI 2 are
	 * the timer's. */
	if (cfg->sci_irq < 1 || cfg->sci_irq > 15 || cfg->sci_irq == 2)
		return refuse(err, errlen, "SCI IRQ %u: need an ISA IRQ other "
			      "than 0 and 2", cfg->sci_irq);
	/* GPE0 is a status half and an enable half of equal size. */
	if (!cfg->gpe0_len || cfg->gpe0_len % 2)
		return refuse(err, errlen, "GPE0 block length %u: need an even "
			      "number above 0", cfg->gpe0_len);
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		if (!ports[i].port)
			return refuse(err, errlen, "the %s port is 0",
				      ports[i].name);
	if (check_memhp(cfg, err, errlen) || check_srat(cfg, err, errlen) ||
	    check_apic_ids(cfg, err, errlen))
		return -EINVAL;
	return 0;
}

static void write_rsdp(uint8_t *t, uint64_t xsdt)
{
	memcpy(t, "RSD PTR ", 8);
	memcpy(t + 9, OEM_ID, 6);
	t[15] = 2; /* revision: ACPI 2.0+ RSDP with an XSDT and no RSDT */
	put_le(t + 20, RSDP_LEN, 4);
	put_le(t + 24, xsdt, 8);
	checksum(t, 20, 8);	      /* ACPI 1.0 part */
	checksum(t, RSDP_LEN, 32); /* whole structure */
}

static void write_xsdt(uint8_t *t, const uint64_t *entries, size_t n)
{
	size_t len = HEADER_LEN + 8 * n;

	header(t, "XSDT", len, 1);
	for (size_t i = 0; i < n; i++)
		put_le(t + HEADER_LEN + 8 * i, entries[i], 8);
	checksum(t, len, 9);
}

static void write_fadt(uint8_t *t, const struct acpi_config *cfg,
		       uint64_t facs, uint64_t dsdt)
{
	header(t, "FACP", FADT_LEN, FADT_REVISION);
	/* FIRMWARE_CTRL only: the spec wants X_FIRMWARE_CTRL zero when the
	 * 32-bit pointer is set. Both DSDT pointers are allowed (OSPM uses
	 * X_DSDT). */
	put_le(t + 36, facs, 4);
	put_le(t + 40, dsdt, 4);
	put_le(t + 46, cfg->sci_irq, 2);
	/* SMI_CMD, ACPI_ENABLE, ACPI_DISABLE stay 0: no SMM, the machine is
	 * always in ACPI mode. */
	put_le(t + 56, cfg->pm1a_evt_port, 4);
	put_le(t + 64, cfg->pm1a_cnt_port, 4);
	put_le(t + 76, cfg->pm_tmr_port, 4);
	put_le(t + 80, cfg->gpe0_port, 4);
	t[88] = ACPI_PM1_EVT_LEN;
	t[89] = ACPI_PM1_CNT_LEN;
	t[91] = ACPI_PM_TMR_LEN;
	t[92] = cfg->gpe0_len;
	put_le(t + 96, FADT_C2_LATENCY_NONE, 2);
	put_le(t + 98, FADT_C3_LATENCY_NONE, 2);
	put_le(t + 109,
	       IAPC_VGA_NOT_PRESENT | IAPC_MSI_NOT_SUPPORTED |
		       IAPC_CMOS_RTC_NOT_PRESENT,
	       2);
	put_le(t + 112,
	       FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_TMR_VAL_EXT |
		       FADT_RESET_REG_SUP,
	       4);
	gas_io(t + 116, ACPI_PM_RESET_LEN, GAS_BYTE, cfg->reset_port);
	t[128] = cfg->reset_value;
	t[131] = FADT_MINOR_REVISION;
	put_le(t + 140, dsdt, 8);
	gas_io(t + 148, ACPI_PM1_EVT_LEN, GAS_WORD, cfg->pm1a_evt_port);
	gas_io(t + 172, ACPI_PM1_CNT_LEN, GAS_WORD, cfg->pm1a_cnt_port);
	gas_io(t + 208, ACPI_PM_TMR_LEN, GAS_DWORD, cfg->pm_tmr_port);
	gas_io(t + 220, cfg->gpe0_len, GAS_BYTE, cfg->gpe0_port);
	checksum(t, FADT_LEN, 9);
}

static void write_facs(uint8_t *t)
{
	memcpy(t, "FACS", 4);
	put_le(t + 4, FACS_LEN, 4);
	t[32] = 2; /* version; the FACS has no checksum */
}

static uint8_t *madt_entry(uint8_t *p, uint8_t type, uint8_t len)
{
	p[0] = type;
	p[1] = len;
	return p + 2;
}

static void write_madt(uint8_t *t, const struct acpi_config *cfg)
{
	size_t len = madt_len(cfg);
	uint8_t *p = t + HEADER_LEN + 8, *e;

	header(t, "APIC", len, MADT_REVISION);
	put_le(t + 36, cfg->lapic_addr, 4);
	put_le(t + 40, MADT_PCAT_COMPAT, 4); /* KVM's irqchip has the 8259s */
	for (unsigned int i = 0; i < cfg->ncpus; i++) {
		e = madt_entry(p, 0, MADT_LAPIC_LEN);
		e[0] = (uint8_t)i; /* ACPI processor UID = the DSDT device's _UID */
		e[1] = cfg->cpu_apic_id[i];
		put_le(e + 2, MADT_LAPIC_ENABLED, 4);
		p += MADT_LAPIC_LEN;
	}
	e = madt_entry(p, 1, MADT_IOAPIC_LEN);
	e[0] = cfg->ioapic_id;
	put_le(e + 2, cfg->ioapic_addr, 4);
	put_le(e + 6, 0, 4); /* GSI base */
	p += MADT_IOAPIC_LEN;
	/* The PIT's IRQ 0 is wired to IOAPIC pin 2, as on every PC. */
	e = madt_entry(p, 2, MADT_ISO_LEN);
	e[1] = 0;
	put_le(e + 2, 2, 4);
	p += MADT_ISO_LEN;
	/* The SCI is level-triggered, and active high where the ISA default
	 * would say edge. */
	e = madt_entry(p, 2, MADT_ISO_LEN);
	e[1] = cfg->sci_irq;
	put_le(e + 2, cfg->sci_irq, 4);
	put_le(e + 6, MPS_LEVEL | MPS_ACTIVE_HIGH, 2);
	p += MADT_ISO_LEN;
	/* NMI arrives on LINT1 of every local APIC. */
	e = madt_entry(p, 4, MADT_NMI_LEN);
	e[0] = MADT_ALL_PROCESSORS;
	e[3] = 1;
	checksum(t, len, 9);
}

static uint8_t *srat_memory(uint8_t *p, uint64_t base, uint64_t size,
			    uint32_t pxm, uint32_t flags)
{
	p[0] = 1; /* Memory Affinity */
	p[1] = SRAT_MEM_LEN;
	put_le(p + 2, pxm, 4);
	put_le(p + 8, base, 8); /* low and high halves, little-endian */
	put_le(p + 16, size, 8);
	put_le(p + 28, flags, 4);
	return p + SRAT_MEM_LEN;
}

static void write_srat(uint8_t *t, const struct acpi_config *cfg)
{
	size_t len = srat_len(cfg);
	uint8_t *p = t + SRAT_FIXED_LEN;

	header(t, "SRAT", len, SRAT_REVISION);
	put_le(t + 36, 1, 4); /* reserved, 1 for backward compatibility */
	for (unsigned int i = 0; i < cfg->ncpus; i++) {
		p[0] = 0; /* Processor Local APIC Affinity */
		p[1] = SRAT_CPU_LEN;
		p[2] = cfg->cpu_pxm[i]; /* bits 31-8 (bytes 9-11) stay 0 */
		p[3] = cfg->cpu_apic_id[i]; /* as in the MADT */
		put_le(p + 4, SRAT_CPU_ENABLED, 4);
		p += SRAT_CPU_LEN;
	}
	for (unsigned int i = 0; i < cfg->nram; i++)
		p = srat_memory(p, cfg->ram[i].base, cfg->ram[i].size,
				cfg->ram[i].pxm, SRAT_MEM_ENABLED);
	/* The window goes to the last node, as QEMU does, rather than node 0.
	 * Linux does not take a DIMM's node from it: acpi_memhotplug uses the
	 * device's _PXM. What the entry does decide is that its node exists
	 * (Linux only sets up nodes the SRAT names), so a last node with no
	 * vCPU and no boot RAM, there to receive DIMMs, is usable; and since
	 * Linux 5.10 it is the fallback for a DIMM whose _PXM names a node
	 * the SRAT does not (memory_add_physaddr_to_nid). Node 0 normally
	 * has boot RAM and needs no such help. */
	if (has_hp_window(cfg))
		p = srat_memory(p, cfg->hp_base, cfg->hp_size,
				numa_nodes(cfg) - 1,
				SRAT_MEM_ENABLED | SRAT_MEM_HOTPLUGGABLE);
	checksum(t, len, 9);
}

static void write_dsdt(uint8_t *t, const struct aml *a)
{
	size_t len = HEADER_LEN + a->len;

	header(t, "DSDT", len, 2); /* revision 2: 64-bit AML integers */
	memcpy(t + HEADER_LEN, a->buf, a->len);
	checksum(t, len, 9);
}

int acpi_build(const struct acpi_config *cfg, uint64_t base, uint8_t *out,
	       size_t out_size, struct acpi_layout *layout, char *err_msg,
	       size_t errlen)
{
	uint64_t xsdt_entries[XSDT_MAX_ENTRIES];
	size_t nxsdt = 2;
	struct placement p;
	struct aml dsdt;
	int err;

	if (base % 16)
		return refuse(err_msg, errlen, "base 0x%" PRIx64 " is not "
			      "16-byte aligned", base);
	err = check_config(cfg, err_msg, errlen);
	if (err)
		return err;
	aml_init(&dsdt);
	acpi_dsdt_aml(&dsdt, cfg);
	err = aml_finish(&dsdt);
	if (err) {
		snprintf(err_msg, errlen, "the DSDT's AML: %s", strerror(-err));
		goto out;
	}

	if (has_srat(cfg))
		nxsdt++;
	p.rsdp = 0;
	p.xsdt = align_up(p.rsdp + RSDP_LEN, 16);
	p.fadt = align_up(p.xsdt + HEADER_LEN + 8 * nxsdt, 16);
	p.facs = align_up(p.fadt + FADT_LEN, 64);
	p.madt = align_up(p.facs + FACS_LEN, 16);
	p.srat = align_up(p.madt + madt_len(cfg), 16);
	p.dsdt = p.srat;
	if (has_srat(cfg))
		p.dsdt = align_up(p.srat + srat_len(cfg), 16);
	p.end = p.dsdt + HEADER_LEN + dsdt.len;
	if (p.end > out_size) {
		snprintf(err_msg, errlen, "the tables take %zu bytes, %zu are "
			 "free", p.end, out_size);
		err = -ENOSPC;
		goto out;
	}
	/* FIRMWARE_CTRL and the FADT's DSDT are 32-bit pointers. */
	if (base > UINT32_MAX || p.end > UINT32_MAX - base + 1) {
		err = refuse(err_msg, errlen, "the tables at 0x%" PRIx64 " (%zu "
			     "bytes) do not end below 4 GiB, where the FADT's "
			     "32-bit pointers reach", base, p.end);
		goto out;
	}

	memset(out, 0, p.end);
	xsdt_entries[0] = base + p.fadt;
	xsdt_entries[1] = base + p.madt;
	if (has_srat(cfg)) {
		xsdt_entries[2] = base + p.srat;
		write_srat(out + p.srat, cfg);
	}
	write_rsdp(out + p.rsdp, base + p.xsdt);
	write_xsdt(out + p.xsdt, xsdt_entries, nxsdt);
	write_fadt(out + p.fadt, cfg, base + p.facs, base + p.dsdt);
	write_facs(out + p.facs);
	write_madt(out + p.madt, cfg);
	write_dsdt(out + p.dsdt, &dsdt);
	if (layout)
		*layout = (struct acpi_layout){
			.rsdp = base + p.rsdp,
			.xsdt = base + p.xsdt,
			.fadt = base + p.fadt,
			.facs = base + p.facs,
			.madt = base + p.madt,
			.dsdt = base + p.dsdt,
			.srat = has_srat(cfg) ? base + p.srat : 0,
			.size = p.end,
		};
out:
	aml_free(&dsdt);
	return err;
}
