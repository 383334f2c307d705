/* Tests of acpi_build: checksums, lengths, pointers and the fields Linux
 * reads, for the configurations memplug passes (acpi_cfg_build on its
 * parsed options and memory map). tests/test_acpi_iasl.py takes the
 * tables from memplug --dump-acpi itself. */
#include <errno.h>

#include "acpi/tables.h"
#include "firmware/topology.h"
#include "include/memplug/layout.h"
#include "tests/unit.h"
#include "vmm/acpi_cfg.h"
#include "vmm/config.h"
#include "vmm/memmap.h"

#define ROOM (LAYOUT_ACPI_END - LAYOUT_ACPI)

static uint8_t buf[ROOM];
static char msg[256]; /* acpi_build's or memplug_config's message */

/* The acpi_config memplug builds for the options in argv[1..argc): parsed
 * by config_parse, planned as main.c plans them, turned into the tables'
 * input by acpi_cfg_build as vm.c's setup_acpi does. argv[0] stands for the
 * program name, which getopt skips. Returns 0, or an error with msg set. */
static int memplug_config(int argc, char **argv, struct acpi_config *c)
{
	struct config cfg;
	struct memmap map;
	int r;

	r = config_parse(&cfg, argc, argv, msg, sizeof(msg));
	if (!r)
		r = memmap_plan_block(&map, cfg.mem, cfg.slots, cfg.maxmem,
				      cfg.block_size, msg, sizeof(msg));
	if (!r)
		r = acpi_cfg_build(&cfg, &map, c, msg, sizeof(msg));
	return r;
}

/* memplug --cpus NCPUS --memory 1G[,slots=SLOTS,maxmem=...] --numa
 * nodes=NODES: 1 GiB of boot RAM and, with slots, 1 GiB per slot (the
 * hotplug window then starts at 4 GiB). Exits on a refusal: every caller
 * asks for a machine memplug runs. */
static struct acpi_config machine(unsigned int ncpus, unsigned int slots,
				  unsigned int nodes)
{
	char cpus[16], memory[64], numa[32];
	char *argv[] = { "memplug", "--kernel", "vmlinux", "--cpus", cpus,
			 "--memory", memory, "--numa", numa };
	struct acpi_config c;

	snprintf(cpus, sizeof(cpus), "%u", ncpus);
	if (slots)
		snprintf(memory, sizeof(memory), "1G,slots=%u,maxmem=%uG",
			 slots, 1 + slots);
	else
		snprintf(memory, sizeof(memory), "1G");
	snprintf(numa, sizeof(numa), "nodes=%u", nodes);
	if (memplug_config(sizeof(argv) / sizeof(argv[0]), argv, &c)) {
		fprintf(stderr, "memplug --cpus %s --memory %s --numa %s: %s\n",
			cpus, memory, numa, msg);
		exit(1);
	}
	return c;
}

static struct acpi_config config(unsigned int ncpus)
{
	return machine(ncpus, 0, 1);
}

static int build_config(const struct acpi_config *c, struct acpi_layout *l)
{
	memset(buf, 0xa5, sizeof(buf));
	return acpi_build(c, LAYOUT_ACPI, buf, sizeof(buf), l, msg,
			  sizeof(msg));
}

static int build(unsigned int ncpus, struct acpi_layout *l)
{
	struct acpi_config c = config(ncpus);

	return build_config(&c, l);
}

static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* The buffer bytes at a guest-physical address inside the ACPI area. */
static uint8_t *at(uint64_t gpa)
{
	return buf + (gpa - LAYOUT_ACPI);
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static uint32_t table_len(uint64_t gpa)
{
	return (uint32_t)le(at(gpa) + 4, 4);
}

static void checksums_and_lengths(void)
{
	static const unsigned int ncpus[] = { 1, 2, 8, ACPI_CFG_MAX_CPUS };
	struct acpi_layout l;

	for (size_t i = 0; i < sizeof(ncpus) / sizeof(ncpus[0]); i++) {
		unsigned int n = ncpus[i];

		CHECK_EQ(build(n, &l), 0);
		CHECK_EQ(sum(at(l.rsdp), 20), 0);
		CHECK_EQ(sum(at(l.rsdp), 36), 0);
		CHECK_EQ(table_len(l.xsdt), 36 + 2 * 8);
		CHECK_EQ(table_len(l.fadt), 276);
		CHECK_EQ(table_len(l.facs), 64);
		/* header, LAPIC address, flags; LAPICs; IOAPIC; 2 ISOs; NMI */
		CHECK_EQ(table_len(l.madt), 44 + 8 * n + 12 + 2 * 10 + 6);
		CHECK_EQ(sum(at(l.xsdt), table_len(l.xsdt)), 0);
		CHECK_EQ(sum(at(l.fadt), table_len(l.fadt)), 0);
		CHECK_EQ(sum(at(l.madt), table_len(l.madt)), 0);
		CHECK_EQ(sum(at(l.dsdt), table_len(l.dsdt)), 0);
		CHECK_EQ(l.size, l.dsdt + table_len(l.dsdt) - LAYOUT_ACPI);
	}
}

static void placement(void)
{
	struct acpi_layout l;
	uint64_t t[6];

	CHECK_EQ(build(8, &l), 0);
	memcpy(t, (uint64_t[]){ l.rsdp, l.xsdt, l.fadt, l.facs, l.madt, l.dsdt },
	       sizeof(t));
	CHECK_EQ(l.rsdp, LAYOUT_ACPI);
	CHECK_EQ(l.rsdp % 16, 0);
	CHECK_EQ(l.facs % 64, 0);
	/* in order, no overlaps, each 16-byte aligned */
	for (int i = 1; i < 6; i++) {
		uint64_t prev_end = t[i - 1] + (i == 1 ? 36 : table_len(t[i - 1]));

		CHECK_EQ(t[i] % 16, 0);
		CHECK(t[i] >= prev_end);
	}
	CHECK(l.size <= ROOM);
}

static void pointers(void)
{
	struct acpi_layout l;
	const uint8_t *rsdp, *xsdt, *fadt;

	CHECK_EQ(build(2, &l), 0);
	rsdp = at(l.rsdp);
	CHECK_MEM(rsdp, "RSD PTR ", 8);
	CHECK_EQ(rsdp[15], 2);
	CHECK_EQ(le(rsdp + 16, 4), 0); /* no RSDT */
	CHECK_EQ(le(rsdp + 20, 4), 36);
	CHECK_EQ(le(rsdp + 24, 8), l.xsdt);

	xsdt = at(l.xsdt);
	CHECK_MEM(xsdt, "XSDT", 4);
	CHECK_EQ(le(xsdt + 36, 8), l.fadt);
	CHECK_EQ(le(xsdt + 44, 8), l.madt);
	CHECK_MEM(at(l.fadt), "FACP", 4);
	CHECK_MEM(at(l.madt), "APIC", 4);

	fadt = at(l.fadt);
	CHECK_EQ(le(fadt + 36, 4), l.facs);  /* FIRMWARE_CTRL */
	CHECK_EQ(le(fadt + 132, 8), 0);	     /* X_FIRMWARE_CTRL: not both */
	CHECK_EQ(le(fadt + 40, 4), l.dsdt);  /* DSDT */
	CHECK_EQ(le(fadt + 140, 8), l.dsdt); /* X_DSDT */
	CHECK_MEM(at(l.facs), "FACS", 4);
	CHECK_MEM(at(l.dsdt), "DSDT", 4);
}

/* A SystemIO Generic Address Structure. */
static int gas_io_is(const uint8_t *g, unsigned int bits, unsigned int access,
		     uint64_t port)
{
	return g[0] == 1 && g[1] == bits && g[2] == 0 && g[3] == access &&
	       le(g + 4, 8) == port;
}

static void fadt_fields(void)
{
	struct acpi_layout l;
	const uint8_t *f;

	CHECK_EQ(build(1, &l), 0);
	f = at(l.fadt);
	CHECK_EQ(f[8], 6);   /* revision */
	CHECK_EQ(f[131], 3); /* minor revision */
	CHECK_EQ(le(f + 46, 2), ACPI_SCI_IRQ);
	CHECK_EQ(le(f + 48, 4), 0); /* SMI_CMD: always in ACPI mode */
	CHECK_EQ(f[52], 0);
	CHECK_EQ(f[53], 0);
	CHECK_EQ(le(f + 56, 4), PORT_ACPI_PM1A_EVT);
	CHECK_EQ(le(f + 60, 4), 0);
	CHECK_EQ(le(f + 64, 4), PORT_ACPI_PM1A_CNT);
	CHECK_EQ(le(f + 68, 4), 0);
	CHECK_EQ(le(f + 72, 4), 0);
	CHECK_EQ(le(f + 76, 4), PORT_ACPI_PM_TMR);
	CHECK_EQ(le(f + 80, 4), PORT_ACPI_GPE0);
	CHECK_EQ(le(f + 84, 4), 0);
	CHECK_EQ(f[88], ACPI_PM1_EVT_LEN);
	CHECK_EQ(f[89], ACPI_PM1_CNT_LEN);
	CHECK_EQ(f[90], 0);
	CHECK_EQ(f[91], ACPI_PM_TMR_LEN);
	CHECK_EQ(f[92], ACPI_GPE0_LEN);
	CHECK_EQ(f[93], 0);
	CHECK(le(f + 96, 2) > 100);  /* no C2 */
	CHECK(le(f + 98, 2) > 1000); /* no C3 */
	/* IAPC_BOOT_ARCH: VGA not present, MSI not supported, no CMOS RTC;
	 * no legacy devices, no 8042 */
	CHECK_EQ(le(f + 109, 2), 0x2c);
	/* WBINVD, PROC_C1, SLP_BUTTON, TMR_VAL_EXT, RESET_REG_SUP; PWR_BUTTON
	 * clear (fixed power button), HW_REDUCED_ACPI clear */
	CHECK_EQ(le(f + 112, 4), 0x525);
	CHECK(gas_io_is(f + 116, 8, 1, PORT_ACPI_RESET));
	CHECK_EQ(f[128], ACPI_PM_RESET_VALUE);
	CHECK(gas_io_is(f + 148, 32, 2, PORT_ACPI_PM1A_EVT));
	CHECK(gas_io_is(f + 172, 16, 2, PORT_ACPI_PM1A_CNT));
	CHECK(gas_io_is(f + 208, 32, 3, PORT_ACPI_PM_TMR));
	CHECK(gas_io_is(f + 220, ACPI_GPE0_LEN * 8, 1, PORT_ACPI_GPE0));
	/* PM1b, PM2, GPE1, sleep registers, hypervisor id: absent */
	for (size_t off = 160; off < 172; off++)
		CHECK_EQ(f[off], 0);
	for (size_t off = 184; off < 208; off++)
		CHECK_EQ(f[off], 0);
	for (size_t off = 232; off < 276; off++)
		CHECK_EQ(f[off], 0);
}

static void facs_fields(void)
{
	struct acpi_layout l;
	const uint8_t *f;

	CHECK_EQ(build(1, &l), 0);
	f = at(l.facs);
	CHECK_MEM(f, "FACS", 4);
	CHECK_EQ(le(f + 4, 4), 64);
	CHECK_EQ(f[32], 2); /* version */
	for (size_t off = 8; off < 64; off++)
		if (off != 32)
			CHECK_EQ(f[off], 0);
}

/* Walk the MADT's entries, checking each against the configuration. */
static void check_madt(unsigned int ncpus, unsigned int nodes)
{
	unsigned int count[5] = { 0 }, lapics = 0;
	struct acpi_config c = machine(ncpus, 0, nodes);
	struct cpu_topology topo;
	struct acpi_layout l;
	const uint8_t *m, *e, *end;

	cpu_topology_init(&topo, ncpus, nodes);
	CHECK_EQ(build_config(&c, &l), 0);
	m = at(l.madt);
	end = m + table_len(l.madt);
	CHECK_EQ(le(m + 36, 4), LAYOUT_LAPIC);
	CHECK_EQ(le(m + 40, 4), 1); /* PCAT_COMPAT */
	for (e = m + 44; e < end; e += e[1]) {
		CHECK(e[1] >= 2 && e + e[1] <= end);
		CHECK(e[0] < 5);
		count[e[0]]++;
		switch (e[0]) {
		case 0: /* Processor Local APIC: UID = index, the APIC id
			 * the vCPU's CPUID gives (firmware/topology.h) */
			CHECK_EQ(e[1], 8);
			CHECK_EQ(e[2], lapics);
			CHECK_EQ(e[3], cpu_topology_apic_id(&topo, lapics));
			CHECK_EQ(le(e + 4, 4), 1);
			lapics++;
			break;
		case 1: /* I/O APIC, its id after the last vCPU's */
			CHECK_EQ(e[1], 12);
			CHECK_EQ(e[2], cpu_topology_max_apic_id(&topo) + 1);
			CHECK_EQ(le(e + 4, 4), LAYOUT_IOAPIC);
			CHECK_EQ(le(e + 8, 4), 0);
			break;
		case 2: /* Interrupt Source Override */
			CHECK_EQ(e[1], 10);
			CHECK_EQ(e[2], 0); /* ISA */
			if (e[3] == 0) {
				CHECK_EQ(le(e + 4, 4), 2);
				CHECK_EQ(le(e + 8, 2), 0);
			} else {
				CHECK_EQ(e[3], ACPI_SCI_IRQ);
				CHECK_EQ(le(e + 4, 4), ACPI_SCI_IRQ);
				CHECK_EQ(le(e + 8, 2), 0xd); /* level, high */
			}
			break;
		case 4: /* Local APIC NMI: all processors, LINT1 */
			CHECK_EQ(e[1], 6);
			CHECK_EQ(e[2], 0xff);
			CHECK_EQ(le(e + 3, 2), 0);
			CHECK_EQ(e[5], 1);
			break;
		}
	}
	CHECK(e == end);
	CHECK_EQ(count[0], ncpus);
	CHECK_EQ(count[1], 1);
	CHECK_EQ(count[2], 2);
	CHECK_EQ(count[3], 0);
	CHECK_EQ(count[4], 1);
}

static void madt_1_cpu(void)
{
	check_madt(1, 1);
}

static void madt_2_cpus(void)
{
	check_madt(2, 1);
}

static void madt_8_cpus(void)
{
	check_madt(8, 1);
}

/* One socket per node: vCPUs 0, 2, 4 on node 0 are APIC ids 0, 1, 2,
 * vCPUs 1, 3 on node 1 are 4, 5 (2 bits for the core). */
static void madt_5_cpus_2_nodes(void)
{
	struct acpi_config c = machine(5, 0, 2);

	check_madt(5, 2);
	CHECK_MEM(c.cpu_apic_id, ((uint8_t[]){ 0, 4, 1, 5, 2 }), 5);
	CHECK_EQ(c.ioapic_id, 6);
}

static int contains(const uint8_t *p, size_t n, const char *s)
{
	return memmem(p, n, s, strlen(s)) != NULL;
}

/* The DSDT's contents are compared with iasl's disassembly in
 * test_acpi_iasl.py; here only what acpi_build must get right. */
static void dsdt_header_and_names(void)
{
	struct acpi_layout l;
	const uint8_t *d;
	uint32_t len;

	CHECK_EQ(build(8, &l), 0);
	d = at(l.dsdt);
	len = table_len(l.dsdt);
	CHECK_EQ(d[8], 2); /* revision 2: 64-bit integers */
	CHECK(contains(d, len, "_S5_"));
	CHECK(contains(d, len, "C000"));
	CHECK(contains(d, len, "C007"));
	CHECK(!contains(d, len, "C008"));
	CHECK(contains(d, len, "ACPI0007"));
}

static void no_space(void)
{
	static uint8_t big[ROOM + 64];
	struct acpi_config c = config(8);
	struct acpi_layout l;
	size_t need, sizes[3];

	CHECK_EQ(build(8, &l), 0);
	need = l.size;
	sizes[0] = 0;
	sizes[1] = 36;
	sizes[2] = need - 1;
	for (size_t i = 0; i < 3; i++) {
		memset(big, 0x5a, sizeof(big));
		CHECK_EQ(acpi_build(&c, LAYOUT_ACPI, big, sizes[i], &l, msg,
				    sizeof(msg)), -ENOSPC);
		/* nothing written, inside or past the buffer */
		for (size_t off = 0; off < sizeof(big); off++)
			CHECK_EQ(big[off], 0x5a);
	}
	memset(big, 0x5a, sizeof(big));
	CHECK_EQ(acpi_build(&c, LAYOUT_ACPI, big, need, &l, msg, sizeof(msg)),
		 0);
	CHECK_EQ(l.size, need);
	for (size_t off = need; off < sizeof(big); off++)
		CHECK_EQ(big[off], 0x5a);
}

static void bad_config(void)
{
	struct acpi_config c;
	struct acpi_layout l;

#define CHECK_REFUSED(field, value)                                           \
	do {                                                                  \
		c = config(2);                                                \
		c.field = value;                                              \
		CHECK_EQ(acpi_build(&c, LAYOUT_ACPI, buf, sizeof(buf), &l,    \
				    msg, sizeof(msg)), -EINVAL);              \
	} while (0)

	CHECK_REFUSED(ncpus, 0);
	CHECK_REFUSED(ncpus, 256);
	CHECK_REFUSED(sci_irq, 0);
	CHECK_REFUSED(sci_irq, 2);
	CHECK_REFUSED(sci_irq, 16);
	CHECK_REFUSED(gpe0_len, 0);
	CHECK_REFUSED(gpe0_len, 7);
	CHECK_REFUSED(pm1a_evt_port, 0);
	CHECK_REFUSED(reset_port, 0);
#undef CHECK_REFUSED
	c = config(2);
	CHECK_EQ(acpi_build(&c, LAYOUT_ACPI + 8, buf, sizeof(buf), &l, msg,
			    sizeof(msg)), -EINVAL);
	/* the 32-bit FIRMWARE_CTRL and DSDT must reach the tables */
	CHECK_EQ(acpi_build(&c, 0xffffff00, buf, sizeof(buf), &l, msg,
			    sizeof(msg)), -EINVAL);
	CHECK_EQ(acpi_build(&c, LAYOUT_4G, buf, sizeof(buf), &l, msg,
			    sizeof(msg)), -EINVAL);
}

/* Each refusal names the field and its value (the VMM logs the message;
 * a bare -EINVAL read "Invalid argument"). */
static void refusals_say_what(void)
{
	struct acpi_config c = config(2);
	struct acpi_layout l;

	c.ncpus = 256;
	CHECK_EQ(build_config(&c, &l), -EINVAL);
	CHECK_STR(msg, "256 vCPUs: the MADT takes 1 to 255 (8-bit xAPIC ids)");
	c = config(2);
	c.reset_port = 0;
	CHECK_EQ(build_config(&c, &l), -EINVAL);
	CHECK_STR(msg, "the reset port is 0");
	c = config(2);
	CHECK_EQ(acpi_build(&c, LAYOUT_ACPI, buf, 36, &l, msg, sizeof(msg)),
		 -ENOSPC);
	CHECK(!strncmp(msg, "the tables take ", 16));
	CHECK(strstr(msg, " bytes, 36 are free") != NULL);
	CHECK_EQ(acpi_build(&c, LAYOUT_ACPI + 8, buf, sizeof(buf), &l, msg,
			    sizeof(msg)), -EINVAL);
	CHECK_STR(msg, "base 0xe0008 is not 16-byte aligned");
	c = machine(2, 4, 2);
	c.memhp_gpe = 32;
	CHECK_EQ(build_config(&c, &l), -EINVAL);
	CHECK_STR(msg, "memory hotplug GPE 32 is past the 32 GPEs of the GPE0 "
		       "block");
	c = machine(2, 4, 2);
	c.ram[1].base = c.ram[0].base + 4096;
	CHECK_EQ(build_config(&c, &l), -EINVAL);
	CHECK_STR(msg, "RAM range 1 overlaps RAM range 0");
}

/* Padding is zeroed: the same machine gives the same bytes whatever the
 * buffer held before. */
static void deterministic(void)
{
	static uint8_t other[ROOM];
	struct acpi_config c = config(4);
	struct acpi_layout l1, l2;

	CHECK_EQ(build(4, &l1), 0);
	memset(other, 0x00, sizeof(other));
	CHECK_EQ(acpi_build(&c, LAYOUT_ACPI, other, sizeof(other), &l2, msg,
			    sizeof(msg)), 0);
	CHECK_EQ(l1.size, l2.size);
	CHECK_MEM(buf, other, l1.size);
}

/* Memory hotplug and NUMA. */

static uint32_t xsdt_entries(const struct acpi_layout *l)
{
	return (table_len(l->xsdt) - 36) / 8;
}

static void srat_absent_without_hotplug_or_numa(void)
{
	struct acpi_config c = machine(2, 0, 1);
	struct acpi_layout l;

	/* ram ranges alone (and the old callers' zeroed fields) ask for none */
	CHECK_EQ(build_config(&c, &l), 0);
	CHECK_EQ(l.srat, 0);
	CHECK_EQ(xsdt_entries(&l), 2);
	CHECK(!contains(at(l.dsdt), table_len(l.dsdt), "MHPC"));
	CHECK(!contains(at(l.dsdt), table_len(l.dsdt), "_GPE"));
	CHECK_EQ(build(2, &l), 0);
	CHECK_EQ(l.srat, 0);
}

/* Check the SRAT of c against c, entry by entry. */
static void check_srat(const struct acpi_config *c, int want_window)
{
	unsigned int nodes = c->numa_nodes ? c->numa_nodes : 1;
	unsigned int cpus = 0, mems = 0;
	struct cpu_topology topo;
	struct acpi_layout l;
	const uint8_t *t, *e, *end;

	cpu_topology_init(&topo, c->ncpus, nodes);

	CHECK_EQ(build_config(c, &l), 0);
	CHECK(l.srat != 0);
	CHECK_EQ(xsdt_entries(&l), 3);
	CHECK_EQ(le(at(l.xsdt) + 36 + 16, 8), l.srat);
	t = at(l.srat);
	CHECK_MEM(t, "SRAT", 4);
	CHECK_EQ(t[8], 3); /* revision */
	CHECK_EQ(table_len(l.srat), 48 + 16 * c->ncpus +
					    40 * (c->nram + !!want_window));
	CHECK_EQ(sum(t, table_len(l.srat)), 0);
	CHECK_EQ(le(t + 36, 4), 1); /* reserved, 1 */
	CHECK_EQ(le(t + 40, 8), 0);
	end = t + table_len(l.srat);
	for (e = t + 48; e < end; e += e[1]) {
		CHECK(e[1] >= 2 && e + e[1] <= end);
		if (e[0] == 0) { /* Processor Local APIC Affinity */
			CHECK_EQ(mems, 0); /* CPUs first */
			CHECK_EQ(e[1], 16);
			CHECK_EQ(e[2], c->cpu_pxm[cpus]);
			CHECK_EQ(e[3], cpu_topology_apic_id(&topo, cpus));
			CHECK_EQ(le(e + 4, 4), 1); /* enabled */
			CHECK_EQ(le(e + 8, 4), 0); /* SAPIC EID, pxm 31-8 */
			CHECK_EQ(le(e + 12, 4), 0);
			cpus++;
			continue;
		}
		CHECK_EQ(e[0], 1); /* Memory Affinity */
		CHECK_EQ(e[1], 40);
		CHECK_EQ(le(e + 6, 2), 0);
		CHECK_EQ(le(e + 24, 4), 0);
		CHECK_EQ(le(e + 32, 8), 0);
		if (mems < c->nram) {
			CHECK_EQ(le(e + 2, 4), c->ram[mems].pxm);
			CHECK_EQ(le(e + 8, 8), c->ram[mems].base);
			CHECK_EQ(le(e + 16, 8), c->ram[mems].size);
			CHECK_EQ(le(e + 28, 4), 1); /* enabled */
		} else { /* the window: last node, enabled + hot-pluggable */
			CHECK_EQ(le(e + 2, 4), nodes - 1);
			CHECK_EQ(le(e + 8, 8), c->hp_base);
			CHECK_EQ(le(e + 16, 8), c->hp_size);
			CHECK_EQ(le(e + 28, 4), 3);
		}
		mems++;
	}
	CHECK(e == end);
	CHECK_EQ(cpus, c->ncpus);
	CHECK_EQ(mems, c->nram + !!want_window);
}

static void srat_one_node(void)
{
	struct acpi_config c = machine(1, 4, 1);

	CHECK_EQ(c.nram, 1);
	check_srat(&c, 1);
	/* numa_nodes 0, as a caller from before NUMA leaves it, is one node */
	c.numa_nodes = 0;
	check_srat(&c, 1);
	/* no window: the hotplug controller alone still gets an SRAT */
	c.hp_size = 0;
	check_srat(&c, 0);
}

static void srat_two_nodes(void)
{
	struct acpi_config c = machine(4, 8, 2);

	CHECK_EQ(c.nram, 2);
	CHECK_EQ(c.cpu_pxm[1], 1);
	CHECK_EQ(c.ram[1].pxm, 1);
	check_srat(&c, 1);
	/* NUMA without hotplug: no window, even if one is described */
	c = machine(2, 0, 2);
	c.hp_size = GiB;
	check_srat(&c, 0);
}

static void srat_placement(void)
{
	struct acpi_config c = machine(8, 16, 2);
	struct acpi_layout l;

	CHECK_EQ(build_config(&c, &l), 0);
	CHECK_EQ(l.srat % 16, 0);
	CHECK(l.srat >= l.madt + table_len(l.madt));
	CHECK_EQ(l.dsdt % 16, 0);
	CHECK(l.dsdt >= l.srat + table_len(l.srat));
	CHECK_EQ(l.size, l.dsdt + table_len(l.dsdt) - LAYOUT_ACPI);
	CHECK_EQ(sum(at(l.xsdt), table_len(l.xsdt)), 0);
	CHECK_EQ(sum(at(l.dsdt), table_len(l.dsdt)), 0);
}

/* Occurrences of s in p[0..n). */
static unsigned int count(const uint8_t *p, size_t n, const char *s)
{
	size_t len = strlen(s);
	unsigned int k = 0;

	for (size_t i = 0; i + len <= n; i++)
		k += !memcmp(p + i, s, len);
	return k;
}

static void dsdt_memhp(void)
{
	/* EisaId ("PNP0C80") and ("PNP0A06"), as DWordConst */
	static const char pnp0c80[] = "\x0c\x41\xd0\x0c\x80";
	static const char pnp0a06[] = "\x0c\x41\xd0\x0a\x06";
	uint8_t region[] = { 0x5b, 0x80, 'M', 'H', 'P', 'R', 0x01, 0x0b,
			     0, 0, 0x0a, MEMHP_REGS_LEN };
	struct acpi_config c = machine(2, 4, 1);
	struct acpi_layout l;
	const uint8_t *d;
	uint32_t len;
	char gpe[5];

	CHECK_EQ(build_config(&c, &l), 0);
	d = at(l.dsdt);
	len = table_len(l.dsdt);
	CHECK_EQ(sum(d, len), 0);
	CHECK(contains(d, len, "MHPC"));
	CHECK_EQ(count(d, len, pnp0a06), 1);
	CHECK_EQ(count(d, len, pnp0c80), 4);
	/* each slot device is defined (5b 82) once */
	CHECK(contains(d, len, "MP00"));
	CHECK(contains(d, len, "MP03"));
	CHECK(!contains(d, len, "MP04"));
	CHECK(contains(d, len, "_GPE"));
	snprintf(gpe, sizeof(gpe), "_E%02X", GPE_MEMHP);
	CHECK(contains(d, len, gpe));
	/* OperationRegion (MHPR, SystemIO, PORT_MEMHP (a WordConst),
	 * MEMHP_REGS_LEN) */
	region[8] = PORT_MEMHP & 0xff;
	region[9] = PORT_MEMHP >> 8;
	CHECK(memmem(d, len, region, sizeof(region)) != NULL);
	CHECK(contains(d, len, "MSCN"));

	c.memhp_gpe = 0x1f; /* the last GPE of an 8-byte GPE0 block */
	CHECK_EQ(build_config(&c, &l), 0);
	CHECK(contains(at(l.dsdt), table_len(l.dsdt), "_E1F"));
}

/* The largest machine still fits the ACPI area below 1 MiB: on 4 nodes
 * 251 vCPUs (sockets of 63, 63, 63 and 62 cores at 64 APIC ids each, the
 * last id 253, the IOAPIC's 254). */
static void memhp_largest(void)
{
	struct acpi_config c = machine(251, MEMHP_MAX_SLOTS, 4);
	struct acpi_layout l;
	const uint8_t *d;
	uint32_t len;

	CHECK_EQ(build_config(&c, &l), 0);
	CHECK(l.size <= ROOM);
	d = at(l.dsdt);
	len = table_len(l.dsdt);
	CHECK_EQ(sum(d, len), 0);
	CHECK_EQ(count(d, len, "\x0c\x41\xd0\x0c\x80"), MEMHP_MAX_SLOTS);
	CHECK(contains(d, len, "MPFF"));
	CHECK_EQ(sum(at(l.srat), table_len(l.srat)), 0);
	CHECK_EQ(table_len(l.srat), 48 + 16 * 251 + 40 * (c.nram + 1));
	CHECK_EQ(c.ioapic_id, 254);
}

static void bad_memhp_config(void)
{
	struct acpi_config c;
	struct acpi_layout l;

#define CHECK_REFUSED_MEMHP(stmt)                                             \
	do {                                                                  \
		c = machine(2, 4, 2);                                    \
		stmt;                                                         \
		CHECK_EQ(acpi_build(&c, LAYOUT_ACPI, buf, sizeof(buf), &l,    \
				    msg, sizeof(msg)), -EINVAL);              \
	} while (0)

	c = machine(2, 4, 2);
	CHECK_EQ(build_config(&c, &l), 0);
	CHECK_REFUSED_MEMHP(c.memhp_slots = MEMHP_MAX_SLOTS + 1);
	CHECK_REFUSED_MEMHP(c.memhp_port = 0);
	CHECK_REFUSED_MEMHP(c.memhp_port = 0x10000 - MEMHP_REGS_LEN + 1);
	CHECK_REFUSED_MEMHP(c.memhp_gpe = 32); /* GPE0 has 4 status bytes */
	CHECK_REFUSED_MEMHP(c.cpu_pxm[1] = 2);
	CHECK_REFUSED_MEMHP(c.ram[0].pxm = 2);
	CHECK_REFUSED_MEMHP(c.nram = 9);
	CHECK_REFUSED_MEMHP(c.nram = 0);
	CHECK_REFUSED_MEMHP(c.ram[1].size = 0);
	CHECK_REFUSED_MEMHP(c.ram[1].base = UINT64_MAX - 4095); /* wraps */
	CHECK_REFUSED_MEMHP(c.ram[1].base = c.ram[0].base + 4096);
	CHECK_REFUSED_MEMHP(c.hp_base = c.ram[1].base);
	CHECK_REFUSED_MEMHP(c.hp_base = UINT64_MAX - GiB);
	/* numa_nodes alone asks for an SRAT, which needs RAM */
	CHECK_REFUSED_MEMHP((c.memhp_slots = 0, c.nram = 0));
#undef CHECK_REFUSED_MEMHP
	/* edges that are fine: the block ending at 0xffff, the range ending
	 * at the top of the address space, MEMHP_MAX_SLOTS slots */
	c = machine(2, MEMHP_MAX_SLOTS, 2);
	c.memhp_port = 0x10000 - MEMHP_REGS_LEN;
	c.memhp_gpe = 31;
	c.hp_base = 0;
	c.hp_size = 0;
	c.ram[1].size = 0 - c.ram[1].base;
	CHECK_EQ(build_config(&c, &l), 0);
	/* without slots nothing about the controller is looked at */
	c = machine(2, 0, 1);
	c.memhp_port = 0;
	c.memhp_gpe = 200;
	c.nram = 0;
	CHECK_EQ(build_config(&c, &l), 0);
}

static void deterministic_memhp(void)
{
	static uint8_t other[ROOM];
	struct acpi_config c = machine(2, 8, 2);
	struct acpi_layout l1, l2;

	CHECK_EQ(build_config(&c, &l1), 0);
	memset(other, 0x00, sizeof(other));
	CHECK_EQ(acpi_build(&c, LAYOUT_ACPI, other, sizeof(other), &l2, msg,
			    sizeof(msg)), 0);
	CHECK_EQ(l1.size, l2.size);
	CHECK_MEM(buf, other, l1.size);
}

/* acpi_cfg_build itself: what it takes from the options and the map. */
static void memplug_machine(void)
{
	char *argv[] = { "memplug", "--kernel", "vmlinux", "--cpus", "3",
			 "--memory", "4G,slots=2,maxmem=6G", "--numa",
			 "nodes=2" };
	struct acpi_config c = machine(4, 8, 2);

	CHECK_EQ(c.ncpus, 4);
	CHECK_EQ(c.ioapic_id, 4);
	CHECK_EQ(c.memhp_slots, 8);
	CHECK_EQ(c.numa_nodes, 2);
	CHECK_EQ(c.cpu_pxm[2], 0);
	CHECK_EQ(c.cpu_pxm[3], 1);
	CHECK_EQ(c.hp_base, LAYOUT_4G);
	CHECK_EQ(c.hp_size, 8 * GiB);
	CHECK_EQ(c.nram, 2);
	CHECK_EQ(c.ram[0].base, 0);
	CHECK_EQ(c.ram[0].size, GiB / 2);
	CHECK_EQ(c.ram[0].pxm, 0);
	CHECK_EQ(c.ram[1].base, GiB / 2);
	CHECK_EQ(c.ram[1].pxm, 1);
	/* node 1's half straddles the MMIO hole: two ranges */
	CHECK_EQ(memplug_config(sizeof(argv) / sizeof(argv[0]), argv, &c), 0);
	CHECK_EQ(c.nram, 3);
	CHECK_EQ(c.ram[1].base, 2 * GiB);
	CHECK_EQ(c.ram[1].size, LAYOUT_MMIO_HOLE - 2 * GiB);
	CHECK_EQ(c.ram[2].base, LAYOUT_4G);
	CHECK_EQ(c.ram[2].size, 4 * GiB - LAYOUT_MMIO_HOLE);
	CHECK_EQ(c.ram[2].pxm, 1);
	CHECK_EQ(c.hp_base, LAYOUT_4G + 4 * GiB - LAYOUT_MMIO_HOLE);
	CHECK_EQ(c.hp_size, 2 * GiB);
}

static void memplug_refusals(void)
{
	char cpus[16];
	char *argv[] = { "memplug", "--kernel", "vmlinux", "--cpus", cpus,
			 "--numa", "nodes=1" };
	int argc = sizeof(argv) / sizeof(argv[0]);
	struct acpi_config c;

	snprintf(cpus, sizeof(cpus), "%u", ACPI_CFG_MAX_CPUS + 1);
	CHECK_EQ(memplug_config(argc, argv, &c), -EINVAL);
	CHECK_STR(msg, "255 vCPUs: the IOAPIC's APIC id comes after the last "
		       "vCPU's, so at most 254");
	snprintf(cpus, sizeof(cpus), "252");
	argv[6] = "nodes=4";
	CHECK_EQ(memplug_config(argc, argv, &c), -EINVAL);
	CHECK_STR(msg, "252 vCPUs on 4 nodes: the last APIC id would be 254 "
		       "(one socket per node, 6 bits for the core) and the "
		       "IOAPIC's the next, above 254");
	snprintf(cpus, sizeof(cpus), "1");
	argv[6] = "nodes=5";
	CHECK_EQ(memplug_config(argc, argv, &c), -EINVAL);
	CHECK_STR(msg, "--numa nodes=5: between 1 and 4 nodes");
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
		UNIT_CASE(checksums_and_lengths),
		UNIT_CASE(placement),
		UNIT_CASE(pointers),
		UNIT_CASE(fadt_fields),
		UNIT_CASE(facs_fields),
		UNIT_CASE(madt_1_cpu),
		UNIT_CASE(madt_2_cpus),
		UNIT_CASE(madt_8_cpus),
		UNIT_CASE(madt_5_cpus_2_nodes),
		UNIT_CASE(dsdt_header_and_names),
		UNIT_CASE(no_space),
		UNIT_CASE(bad_config),
		UNIT_CASE(refusals_say_what),
		UNIT_CASE(deterministic),
		UNIT_CASE(srat_absent_without_hotplug_or_numa),
		UNIT_CASE(srat_one_node),
		UNIT_CASE(srat_two_nodes),
		UNIT_CASE(srat_placement),
		UNIT_CASE(dsdt_memhp),
		UNIT_CASE(memhp_largest),
		UNIT_CASE(bad_memhp_config),
		UNIT_CASE(deterministic_memhp),
		UNIT_CASE(memplug_machine),
		UNIT_CASE(memplug_refusals),
	};

	return unit_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
