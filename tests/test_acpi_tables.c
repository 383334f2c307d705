/* Tests of acpi_build: checksums, lengths, pointers and the fields Linux
 * reads, for the configuration the VMM passes (include/memplug/layout.h).
 *
 * Besides the unit-test cases (see tests/unit.h), this binary has one more
 * mode, used by tests/test_acpi_iasl.py to feed the tables to iasl and
 * acpiexec:
 *   test_acpi_tables --dump DIR NCPUS [SLOTS NODES]
 * writes DIR/RSDP.dat and DIR/<signature>.dat for every other table, for
 * the machine of memhp_config (SLOTS and NODES default to 0 and 1). */
#include <errno.h>

#include "acpi/tables.h"
#include "include/memplug/layout.h"
#include "tests/unit.h"

#define ROOM (LAYOUT_ACPI_END - LAYOUT_ACPI)

static uint8_t buf[ROOM];
static char msg[256]; /* acpi_build's message */

/* What the VMM passes for an n-vCPU machine. */
static struct acpi_config config(unsigned int ncpus)
{
	return (struct acpi_config){
		.ncpus = ncpus,
		.lapic_addr = LAYOUT_LAPIC,
		.ioapic_addr = LAYOUT_IOAPIC,
		.ioapic_id = 0,
		.sci_irq = ACPI_SCI_IRQ,
		.pm1a_evt_port = PORT_ACPI_PM1A_EVT,
		.pm1a_cnt_port = PORT_ACPI_PM1A_CNT,
		.pm_tmr_port = PORT_ACPI_PM_TMR,
		.gpe0_port = PORT_ACPI_GPE0,
		.gpe0_len = ACPI_GPE0_LEN,
		.reset_port = PORT_ACPI_RESET,
		.reset_value = ACPI_PM_RESET_VALUE,
		.s5_slp_typ = ACPI_S5_SLP_TYP,
	};
}

/* An n-vCPU machine with 1 GiB of boot RAM, split evenly between nodes
 * (vCPU i on node i % nodes), and, with slots, the controller where the VMM
 * puts it and a 1 GiB per slot hotplug window at 4 GiB. */
static struct acpi_config memhp_config(unsigned int ncpus, unsigned int slots,
				       unsigned int nodes)
{
	struct acpi_config c = config(ncpus);
	uint64_t per_node = GiB / nodes;

	c.memhp_slots = slots;
	c.memhp_port = PORT_MEMHP;
	c.memhp_gpe = GPE_MEMHP;
	c.numa_nodes = nodes;
	for (unsigned int i = 0; i < ncpus; i++)
		c.cpu_pxm[i] = (uint8_t)(i % nodes);
	/* node 0: low RAM below the video hole, then from 1 MiB */
	c.ram[c.nram++] = (struct acpi_mem_range){ 0, LAYOUT_HOLE_LOW, 0 };
	c.ram[c.nram++] = (struct acpi_mem_range){
		LAYOUT_HIGH_RAM, per_node - LAYOUT_HIGH_RAM, 0
	};
	for (unsigned int n = 1; n < nodes && c.nram < 8; n++)
		c.ram[c.nram++] = (struct acpi_mem_range){ n * per_node,
							   per_node, n };
	c.hp_base = LAYOUT_4G;
	c.hp_size = (uint64_t)slots * GiB;
	return c;
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
	static const unsigned int ncpus[] = { 1, 2, 8, 255 };
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
static void check_madt(unsigned int ncpus)
{
	unsigned int count[5] = { 0 }, lapics = 0;
	struct acpi_layout l;
	const uint8_t *m, *e, *end;

	CHECK_EQ(build(ncpus, &l), 0);
	m = at(l.madt);
	end = m + table_len(l.madt);
	CHECK_EQ(le(m + 36, 4), LAYOUT_LAPIC);
	CHECK_EQ(le(m + 40, 4), 1); /* PCAT_COMPAT */
	for (e = m + 44; e < end; e += e[1]) {
		CHECK(e[1] >= 2 && e + e[1] <= end);
		CHECK(e[0] < 5);
		count[e[0]]++;
		switch (e[0]) {
		case 0: /* Processor Local APIC: UID = APIC id = index */
			CHECK_EQ(e[1], 8);
			CHECK_EQ(e[2], lapics);
			CHECK_EQ(e[3], lapics);
			CHECK_EQ(le(e + 4, 4), 1);
			lapics++;
			break;
		case 1: /* I/O APIC */
			CHECK_EQ(e[1], 12);
			CHECK_EQ(e[2], 0);
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
	check_madt(1);
}

static void madt_2_cpus(void)
{
	check_madt(2);
}

static void madt_8_cpus(void)
{
	check_madt(8);
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
	c = memhp_config(2, 4, 2);
	c.memhp_gpe = 32;
	CHECK_EQ(build_config(&c, &l), -EINVAL);
	CHECK_STR(msg, "memory hotplug GPE 32 is past the 32 GPEs of the GPE0 "
		       "block");
	c = memhp_config(2, 4, 2);
	c.ram[2].base = c.ram[1].base + 4096;
	CHECK_EQ(build_config(&c, &l), -EINVAL);
	CHECK_STR(msg, "RAM range 2 overlaps RAM range 1");
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
	struct acpi_config c = memhp_config(2, 0, 1);
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
	struct acpi_layout l;
	const uint8_t *t, *e, *end;

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
			CHECK_EQ(e[3], cpus); /* APIC id */
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
	struct acpi_config c = memhp_config(1, 4, 1);

	CHECK_EQ(c.nram, 2);
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
	struct acpi_config c = memhp_config(4, 8, 2);

	CHECK_EQ(c.nram, 3);
	CHECK_EQ(c.cpu_pxm[1], 1);
	CHECK_EQ(c.ram[2].pxm, 1);
	check_srat(&c, 1);
	/* NUMA without hotplug: no window, even if one is described */
	c = memhp_config(2, 0, 2);
	c.hp_size = GiB;
	check_srat(&c, 0);
}

static void srat_placement(void)
{
	struct acpi_config c = memhp_config(8, 16, 2);
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
	struct acpi_config c = memhp_config(2, 4, 1);
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

/* The largest machine still fits the ACPI area below 1 MiB. */
static void memhp_largest(void)
{
	struct acpi_config c = memhp_config(255, MEMHP_MAX_SLOTS, 4);
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
	CHECK_EQ(table_len(l.srat), 48 + 16 * 255 + 40 * (c.nram + 1));
}

static void bad_memhp_config(void)
{
	struct acpi_config c;
	struct acpi_layout l;

#define CHECK_REFUSED_MEMHP(stmt)                                             \
	do {                                                                  \
		c = memhp_config(2, 4, 2);                                    \
		stmt;                                                         \
		CHECK_EQ(acpi_build(&c, LAYOUT_ACPI, buf, sizeof(buf), &l,    \
				    msg, sizeof(msg)), -EINVAL);              \
	} while (0)

	c = memhp_config(2, 4, 2);
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
	CHECK_REFUSED_MEMHP(c.ram[2].base = c.ram[1].base + 4096);
	CHECK_REFUSED_MEMHP(c.hp_base = c.ram[2].base);
	CHECK_REFUSED_MEMHP(c.hp_base = UINT64_MAX - GiB);
	/* numa_nodes alone asks for an SRAT, which needs RAM */
	CHECK_REFUSED_MEMHP((c.memhp_slots = 0, c.nram = 0));
#undef CHECK_REFUSED_MEMHP
	/* edges that are fine: the block ending at 0xffff, the range ending
	 * at the top of the address space, MEMHP_MAX_SLOTS slots */
	c = memhp_config(2, MEMHP_MAX_SLOTS, 2);
	c.memhp_port = 0x10000 - MEMHP_REGS_LEN;
	c.memhp_gpe = 31;
	c.hp_base = 0;
	c.hp_size = 0;
	c.ram[2].size = 0 - c.ram[2].base;
	CHECK_EQ(build_config(&c, &l), 0);
	/* without slots nothing about the controller is looked at */
	c = memhp_config(2, 0, 1);
	c.memhp_port = 0;
	c.memhp_gpe = 200;
	c.nram = 0;
	CHECK_EQ(build_config(&c, &l), 0);
}

static void deterministic_memhp(void)
{
	static uint8_t other[ROOM];
	struct acpi_config c = memhp_config(2, 8, 2);
	struct acpi_layout l1, l2;

	CHECK_EQ(build_config(&c, &l1), 0);
	memset(other, 0x00, sizeof(other));
	CHECK_EQ(acpi_build(&c, LAYOUT_ACPI, other, sizeof(other), &l2, msg,
			    sizeof(msg)), 0);
	CHECK_EQ(l1.size, l2.size);
	CHECK_MEM(buf, other, l1.size);
}

static int write_file(const char *dir, const char *name, const uint8_t *p,
		      size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int number_arg(const char *what, const char *s, unsigned long *v)
{
	char *end;

	*v = strtoul(s, &end, 10);
	if (*end || !*s || *v > 1000) {
		fprintf(stderr, "%s must be a number, got \"%s\"\n", what, s);
		return -1;
	}
	return 0;
}

/* --dump DIR NCPUS [SLOTS NODES] */
static int dump(int argc, char **argv)
{
	struct acpi_config c;
	struct acpi_layout l;
	uint64_t tables[6];
	unsigned long n, slots = 0, nodes = 1;
	int err, ntables = 5;

	if (argc != 4 && argc != 6) {
		fprintf(stderr, "usage: %s --dump DIR NCPUS [SLOTS NODES]\n",
			argv[0]);
		return 2;
	}
	if (number_arg("NCPUS", argv[3], &n) ||
	    (argc == 6 && (number_arg("SLOTS", argv[4], &slots) ||
			   number_arg("NODES", argv[5], &nodes))))
		return 2;
	if (!nodes) { /* memhp_config divides the RAM by it */
		fprintf(stderr, "NODES must be at least 1\n");
		return 2;
	}
	c = memhp_config((unsigned int)n, (unsigned int)slots,
			 (unsigned int)nodes);
	err = build_config(&c, &l);
	if (err) {
		fprintf(stderr, "acpi_build with %lu vCPUs, %lu slots, %lu "
				"nodes: %s\n",
			n, slots, nodes, msg);
		return 1;
	}
	if (write_file(argv[2], "RSDP", at(l.rsdp), 36))
		return 1;
	memcpy(tables, (uint64_t[]){ l.xsdt, l.fadt, l.facs, l.madt, l.dsdt },
	       5 * sizeof(tables[0]));
	if (l.srat)
		tables[ntables++] = l.srat;
	for (int i = 0; i < ntables; i++) {
		char sig[5] = { 0 };

		memcpy(sig, at(tables[i]), 4);
		if (write_file(argv[2], sig, at(tables[i]),
			       table_len(tables[i])))
			return 1;
	}
	return 0;
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
	};

	if (argc > 1 && !strcmp(argv[1], "--dump"))
		return dump(argc, argv);
	return unit_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
