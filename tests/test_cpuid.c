#include "firmware/cpu.h"
#include "tests/unit.h"

static union cpuid_table t;

/* cpuid_adjust for vCPU vcpu of ncpus on nodes. */
static int adjust(union cpuid_table *tab, unsigned int ncpus,
		  unsigned int nodes, unsigned int vcpu, bool hide_pvm)
{
	struct cpu_topology topo;

	cpu_topology_init(&topo, ncpus, nodes);
	return cpuid_adjust(tab, &topo, vcpu, hide_pvm);
}

static void add(uint32_t fn, uint32_t index, uint32_t flags, uint32_t eax,
		uint32_t ebx, uint32_t ecx, uint32_t edx)
{
	struct kvm_cpuid_entry2 *e = &t.h.entries[t.h.nent++];

	*e = (struct kvm_cpuid_entry2){ .function = fn, .index = index,
					.flags = flags, .eax = eax, .ebx = ebx,
					.ecx = ecx, .edx = edx };
}

/* A host-like table: CX16, POPCNT, XSAVE, AVX set; SMAP and AVX2 in leaf 7. */
static void host_table(void)
{
	memset(&t, 0, sizeof(t));
	add(0, 0, 0, 0xd, 0, 0, 0);
	add(1, 0, 0, 0, 0x00000800, (1u << 13) | (1u << 23) | (1u << 26) |
				      (1u << 28) | 1u, 1u << 28);
	add(7, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, 0, (1u << 20) | (1u << 5) | 1u,
	    0, 0);
	add(0xb, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, 1, 2, 0x100, 7);
	add(0xb, 1, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, 4, 16, 0x201, 7);
	add(0xd, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, 7, 0x340, 0x340, 0);
	add(0x80000008, 0, 0, 0x3030, 0, 0x700f, 0);
}

static void apic_id_and_topology(void)
{
	struct kvm_cpuid_entry2 *e;

	host_table();
	CHECK_EQ(adjust(&t, 4, 1, 2, false), 0);
	e = cpuid_find(&t, 1, 0);
	CHECK_EQ(e->ebx >> 24, 2);
	CHECK_EQ((e->ebx >> 16) & 0xff, 4);
	CHECK_EQ(e->ebx & 0xffff, 0x0800); /* CLFLUSH size kept */
	CHECK(e->edx & (1u << 28));        /* HTT: more than one logical CPU */
	e = cpuid_find(&t, 0xb, 0);
	CHECK_EQ(e->edx, 2);
	CHECK_EQ(e->ebx, 1);
	e = cpuid_find(&t, 0xb, 1);
	CHECK_EQ(e->eax, 2);
	CHECK_EQ(e->ebx, 4);
	CHECK_EQ(e->edx, 2);
	CHECK_EQ(cpuid_find(&t, 0x80000008, 0)->ecx & 0xff, 3);
	host_table();
	CHECK_EQ(adjust(&t, 1, 1, 0, false), 0);
	CHECK(!(cpuid_find(&t, 1, 0)->edx & (1u << 28)));
	CHECK_EQ(cpuid_find(&t, 0xb, 1)->ebx, 1);
}

static void hypervisor_bit_and_kvm_leaves(void)
{
	struct kvm_cpuid_entry2 *e;

	host_table();
	CHECK_EQ(adjust(&t, 1, 1, 0, false), 0);
	CHECK(cpuid_find(&t, 1, 0)->ecx & (1u << 31));
	e = cpuid_find(&t, 0x40000000, 0);
	CHECK(e != NULL);
	CHECK_EQ(e->eax, 0x40000001);
	CHECK_MEM(&e->ebx, "KVMK", 4);
	CHECK_MEM(&e->ecx, "VMKV", 4);
	CHECK_MEM(&e->edx, "M\0\0\0", 4);
	e = cpuid_find(&t, 0x40000001, 0);
	CHECK(e != NULL);
	CHECK(e->eax & (1u << 3)); /* kvm-clock */
	/* A second adjust (reset path) must not add the leaves twice. */
	CHECK_EQ(adjust(&t, 1, 1, 0, false), 0);
	CHECK_EQ(t.h.nent, 10); /* 7 + 0xb subleaf 2 + two KVM leaves */
}

/* An AMD host without leaf 0xB: KVM lists subleaf 0 only, all zeros. The
 * core level must be added, or Linux puts each vCPU in its own package. */
static void leaf_b_subleaves_added(void)
{
	struct kvm_cpuid_entry2 *e;

	memset(&t, 0, sizeof(t));
	add(0xb, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, 0, 0, 0, 0);
	CHECK_EQ(adjust(&t, 2, 1, 1, false), 0);
	e = cpuid_find(&t, 0xb, 1);
	CHECK(e != NULL && e->index == 1);
	CHECK_EQ(e->eax, 1);
	CHECK_EQ(e->ebx, 2);
	CHECK_EQ(e->ecx, 0x201);
	CHECK_EQ(e->edx, 1);
	e = cpuid_find(&t, 0xb, 2);
	CHECK(e != NULL && e->index == 2);
	CHECK_EQ(e->ecx & 0xff00, 0); /* end marker: level type 0 */
}

static void pvm_hides_hypercall_features(void)
{
	struct kvm_cpuid_entry2 *e;

	host_table();
	add(0x40000001, 0, 0, 0x01007efb, 0, 0, 0);
	CHECK_EQ(adjust(&t, 2, 1, 0, true), 0);
	e = cpuid_find(&t, 0x40000001, 0);
	CHECK_EQ(e->eax, 0x0100567b); /* PV_UNHALT, PV_SEND_IPI, PV_SCHED_YIELD off */
}

static void pvm_masks_hide_what_the_emulator_cannot_run(void)
{
	struct kvm_cpuid_entry2 *e;

	host_table();
	CHECK_EQ(adjust(&t, 1, 1, 0, false), 0);
	CHECK(cpuid_find(&t, 1, 0)->ecx & (1u << 13)); /* untouched without */
	host_table();
	CHECK_EQ(adjust(&t, 1, 1, 0, true), 0);
	e = cpuid_find(&t, 1, 0);
	CHECK(!(e->ecx & (1u << 13)));
	CHECK(!(e->ecx & (1u << 23)));
	CHECK(!(e->ecx & (1u << 26)));
	CHECK(!(e->ecx & (1u << 28)));
	CHECK(e->ecx & 1u); /* SSE3 stays */
	e = cpuid_find(&t, 7, 0);
	CHECK(!(e->ebx & (1u << 20)));
	CHECK(!(e->ebx & (1u << 5)));
	CHECK(e->ebx & 1u); /* FSGSBASE stays */
	e = cpuid_find(&t, 0xd, 0);
	CHECK_EQ(e->eax | e->ebx | e->ecx, 0);
}

/* Supported-CPUID tables, as KVM_GET_SUPPORTED_CPUID gives them. */
struct leaf {
	uint32_t fn, index, flags, eax, ebx, ecx, edx;
};
#define SIG KVM_CPUID_FLAG_SIGNIFCANT_INDEX

/* The nested kvm_amd of the real-KVM lane (QEMU-TCG -cpu max, Linux
 * 6.1.0-57 in L1), captured there: AMD family 0xf model 0x6b, no TOPOEXT,
 * an L3 (0x80000006 EDX), XSAVE with AVX and PKRU, PKRU at 0xa80 where
 * Intel's layout has it. The leaves that matter here, unchanged. */
static const struct leaf nested_amd[] = {
	{ 0, 0, 0, 0x0000000d, 0x68747541, 0x444d4163, 0x69746e65 },
	{ 1, 0, 0, 0x00060fb1, 0x01020800, 0x76f83203, 0x0f8bfbfd },
	{ 4, 0, SIG, 0, 0, 0, 0 },
	{ 7, 0, SIG, 0x00000000, 0x019803ab, 0x0001020c, 0x20000000 },
	{ 7, 1, SIG, 0, 0, 0, 0 },
	{ 0xb, 0, SIG, 0, 0, 0, 0x00000001 },
	{ 0xd, 0, SIG, 0x00000207, 0x00000a88, 0x00000a88, 0 },
	{ 0xd, 1, SIG, 0x00000005, 0, 0, 0 },
	{ 0xd, 2, SIG, 0x00000100, 0x00000240, 0, 0 },
	{ 0xd, 9, SIG, 0x00000008, 0x00000a80, 0, 0 },
	{ 0x80000000, 0, 0, 0x8000000a, 0x68747541, 0x444d4163, 0x69746e65 },
	{ 0x80000001, 0, 0, 0x00060fb1, 0, 0x00000077, 0xedd3fbfd },
	{ 0x80000006, 0, 0, 0, 0x42004200, 0x02008140, 0x00808140 },
	{ 0x80000008, 0, 0, 0x00003928, 0x04000000, 0x00001001, 0 },
	{ 0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x0000004d },
	{ 0x40000001, 0, 0, 0x01007efb, 0, 0, 0 },
};

/* An AMD family 0x19 host with TOPOEXT (the PVM KVM of this project's
 * machines, captured there): Linux takes the LLC id from 0x8000001D's L3
 * sharing count, 2 threads as KVM lists it. */
static const struct leaf zen_amd[] = {
	{ 0, 0, 0, 0x0000001c, 0x68747541, 0x444d4163, 0x69746e65 },
	{ 1, 0, 0, 0x00a10f11, 0x01020800, 0x81202000, 0x078bfbff },
	{ 7, 0, SIG, 0x00000001, 0x01800002, 0x00000104, 0x20000000 },
	{ 0xb, 0, SIG, 0, 0, 0, 1 },
	{ 0xd, 0, SIG, 0x000000e7, 0x00000980, 0x00000980, 0 },
	{ 0xd, 1, SIG, 0, 0, 0, 0 },
	{ 0xd, 2, SIG, 0x00000100, 0x00000240, 0, 0 },
	{ 0xd, 5, SIG, 0x00000040, 0x00000340, 0, 0 },
	{ 0xd, 6, SIG, 0x00000200, 0x00000380, 0, 0 },
	{ 0xd, 7, SIG, 0x00000400, 0x00000580, 0, 0 },
	{ 0x80000000, 0, 0, 0x80000021, 0x68747541, 0x444d4163, 0x69746e65 },
	{ 0x80000001, 0, 0, 0x00a10f11, 0x40000000, 0x00400393, 0x23d3fbff },
	{ 0x80000006, 0, 0, 0x5c002200, 0x6c004200, 0x04006140, 0x0a009140 },
	{ 0x80000008, 0, 0, 0x00003030, 0x50020005, 0x00007001, 0 },
	{ 0x8000001d, 0, SIG, 0x00000121, 0x01c0003f, 0x0000003f, 0 },
	{ 0x8000001d, 1, SIG, 0x00000122, 0x01c0003f, 0x0000003f, 0 },
	{ 0x8000001d, 2, SIG, 0x00000143, 0x01c0003f, 0x000007ff, 2 },
	{ 0x8000001d, 3, SIG, 0x00004163, 0x03c0003f, 0x00007fff, 1 },
	{ 0x8000001d, 4, SIG, 0, 0, 0, 0 },
	{ 0x8000001e, 0, 0, 0, 0, 0, 0 },
};

/* An Intel server of the Skylake-SP kind: leaf 4 with an L3 shared by 32
 * threads, leaf 0xB, MPX, AVX-512 and PKRU at their standard offsets,
 * XSAVEC/XSAVES (compacted format). */
static const struct leaf intel[] = {
	{ 0, 0, 0, 0x00000016, 0x756e6547, 0x6c65746e, 0x49656e69 },
	{ 1, 0, 0, 0x00050657, 0x00200800, 0x7ffefbff, 0xbfebfbff & ~(1u << 28) },
	{ 4, 0, SIG, 0x1c004121, 0x01c0003f, 0x0000003f, 0 },
	{ 4, 1, SIG, 0x1c004122, 0x01c0003f, 0x0000003f, 0 },
	{ 4, 2, SIG, 0x1c004143, 0x03c0003f, 0x000003ff, 0 },
	{ 4, 3, SIG, 0x1c07c163, 0x0280003f, 0x0000dfff, 4 },
	{ 4, 4, SIG, 0, 0, 0, 0 },
	{ 7, 0, SIG, 0, 0xd39ffffb, 0x0000000c, 0xbc000400 },
	{ 7, 1, SIG, 0, 0, 0, 0 },
	{ 0xb, 0, SIG, 1, 2, 0x100, 0 },
	{ 0xb, 1, SIG, 6, 32, 0x201, 0 },
	{ 0xd, 0, SIG, 0x000002ff, 0x00000a88, 0x00000a88, 0 },
	{ 0xd, 1, SIG, 0x0000000f, 0x00000a88, 0, 0 },
	{ 0xd, 2, SIG, 0x00000100, 0x00000240, 0, 0 },
	{ 0xd, 3, SIG, 0x00000040, 0x000003c0, 0, 0 },
	{ 0xd, 4, SIG, 0x00000040, 0x00000400, 0, 0 },
	{ 0xd, 5, SIG, 0x00000040, 0x00000440, 0, 0 },
	{ 0xd, 6, SIG, 0x00000200, 0x00000480, 0, 0 },
	{ 0xd, 7, SIG, 0x00000400, 0x00000680, 0, 0 },
	{ 0xd, 9, SIG, 0x00000008, 0x00000a80, 0, 0 },
	{ 0x80000000, 0, 0, 0x80000008, 0, 0, 0 },
	{ 0x80000001, 0, 0, 0, 0, 0x00000121, 0x2c100800 },
	{ 0x80000008, 0, 0, 0x0000302e, 0, 0, 0 },
};

#define MAX_VCPUS 8
static union cpuid_table base, vcpus[MAX_VCPUS];

static void load(const struct leaf *l, size_t n)
{
	memset(&base, 0, sizeof(base));
	for (size_t i = 0; i < n; i++)
		base.h.entries[i] = (struct kvm_cpuid_entry2){
			.function = l[i].fn, .index = l[i].index,
			.flags = l[i].flags, .eax = l[i].eax, .ebx = l[i].ebx,
			.ecx = l[i].ecx, .edx = l[i].edx };
	base.h.nent = (uint32_t)n;
}
#define LOAD(table) load(table, sizeof(table) / sizeof(table[0]))

static uint32_t reg(union cpuid_table *tab, uint32_t fn, uint32_t index,
		    int r)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(tab, fn, index);

	if (!e || e->index != index)
		return 0;
	return r == 0 ? e->eax : r == 1 ? e->ebx : r == 2 ? e->ecx : e->edx;
}

static unsigned int count_order(unsigned int n)
{
	unsigned int o = 0;

	while ((1u << o) < n)
		o++;
	return o;
}

/* Registers that hold feature bits, which must stay within what KVM
 * allowed. Leaf 1 ECX[31] (HYPERVISOR) and EDX[28] (HTT, which says
 * EBX[23:16] counts the package's ids: topology) are memplug's. */
static const struct {
	uint32_t fn, index;
	int r;
	uint32_t ours;
} feature_regs[] = {
	{ 1, 0, 2, 1u << 31 }, { 1, 0, 3, 1u << 28 }, { 7, 0, 1, 0 },
	{ 7, 0, 2, 0 }, { 7, 0, 3, 0 }, { 7, 1, 0, 0 }, { 0xd, 0, 0, 0 },
	{ 0xd, 0, 3, 0 }, { 0xd, 1, 0, 0 }, { 0xd, 1, 2, 0 }, { 0xd, 1, 3, 0 },
	{ 0x80000001, 0, 2, 0 }, { 0x80000001, 0, 3, 0 },
};

static void features_within_supported(union cpuid_table *v)
{
	for (size_t i = 0; i < sizeof(feature_regs) / sizeof(feature_regs[0]); i++) {
		uint32_t got = reg(v, feature_regs[i].fn, feature_regs[i].index,
				   feature_regs[i].r);
		uint32_t allowed = reg(&base, feature_regs[i].fn,
				       feature_regs[i].index, feature_regs[i].r);

		CHECK_EQ(got & ~allowed & ~feature_regs[i].ours, 0);
	}
}

/* Linux 6.1's view (fpu/xstate.c): the CPUID feature each component
 * needs, components without one dropped. */
static bool linux_keeps(union cpuid_table *v, unsigned int c)
{
	switch (c) {
	case 0: case 1: return true;
	case 2: return reg(v, 1, 0, 2) & (1u << 28);
	case 3: case 4: return reg(v, 7, 0, 1) & (1u << 14);
	case 5: case 6: case 7: return reg(v, 7, 0, 1) & (1u << 16);
	case 9: return reg(v, 7, 0, 2) & (1u << 3);
	case 17: case 18: return reg(v, 7, 0, 3) & (1u << 24);
	default: return false;
	}
}

/* Every component exposed is described, the XCR0 memplug sets is what
 * the kernel will set, and the kernel's check of the area size passes
 * against the EBX KVM computes from that XCR0 (standard format: the
 * furthest end of any component; compacted: the sum of the sizes with
 * 64-byte alignment where ECX[1] asks for it, in both KVM's and the
 * kernel's reckoning). */
static void xsave_consistent(union cpuid_table *v)
{
	uint64_t user = reg(v, 0xd, 0, 0) | (uint64_t)reg(v, 0xd, 0, 3) << 32;
	uint64_t sup = reg(v, 0xd, 1, 2) | (uint64_t)reg(v, 0xd, 1, 3) << 32;
	uint64_t xcr0 = cpuid_xcr0(v), linux_xcr0 = 0;
	uint32_t kvm_std = 576, kvm_compact = 576, kernel_std = 576;
	uint32_t kernel_compact = 576;
	int top = -1;

	if (!(reg(v, 1, 0, 2) & (1u << 26))) {
		CHECK_EQ(user | sup, 0);
		CHECK_EQ(xcr0, 0);
		return;
	}
	CHECK_EQ(user & 3, 3);
	CHECK_EQ(xcr0, user);
	for (unsigned int c = 2; c < 64; c++) {
		uint32_t size = reg(v, 0xd, c, 0), off = reg(v, 0xd, c, 1);
		uint32_t flags = reg(v, 0xd, c, 2);

		if (!((user | sup) >> c & 1)) {
			CHECK_EQ(size | off | flags, 0);
			continue;
		}
		CHECK(size != 0);
		CHECK_EQ(flags & 1, sup >> c & 1); /* supervisor or user */
		if (!(user >> c & 1))
			continue;
		if (linux_keeps(v, c))
			linux_xcr0 |= 1ull << c;
		if (off + size > kvm_std)
			kvm_std = off + size;
		if (flags & 2)
			kvm_compact = (kvm_compact + 63) & ~63u;
		kvm_compact += size;
		top = (int)c;
	}
	CHECK_EQ(linux_xcr0 | 3, xcr0);
	if (top >= 2)
		kernel_std = reg(v, 0xd, (uint32_t)top, 1) + reg(v, 0xd, (uint32_t)top, 0);
	for (unsigned int c = 2; c < 64; c++) {
		if (!(xcr0 >> c & 1))
			continue;
		if (reg(v, 0xd, c, 2) & 2)
			kernel_compact = (kernel_compact + 63) & ~63u;
		kernel_compact += reg(v, 0xd, c, 0);
	}
	CHECK_EQ(kernel_std, kvm_std);
	CHECK_EQ(kernel_compact, kvm_compact);
	CHECK_EQ(reg(v, 0xd, 0, 2), kvm_std); /* ECX: all of XCR0's */
	/* The features that need a component have it. */
	if (reg(v, 1, 0, 2) & (1u << 28))
		CHECK(xcr0 & (1u << 2));
	if (reg(v, 7, 0, 1) & (1u << 5))
		CHECK(xcr0 & (1u << 2));
	if (reg(v, 7, 0, 1) & (1u << 16))
		CHECK_EQ(xcr0 & 0xe4, 0xe4);
	if (reg(v, 7, 0, 2) & (1u << 3))
		CHECK(xcr0 & (1u << 9));
}

/* The LLC of a vCPU, each way Linux 6.1 finds it (cacheinfo.c, amd.c,
 * topology.c); ~0u where the table does not give that way. */
enum llc_way { LLC_INTEL_LEAF4, LLC_AMD_SOCKET, LLC_AMD_8000001D,
	       LLC_AMD_NODE_ID, LLC_LEAF_B_PACKAGE, LLC_WAYS };

static unsigned int llc_id(union cpuid_table *v, enum llc_way way)
{
	uint32_t apic = reg(v, 1, 0, 1) >> 24, eax = 0, ecx;
	unsigned int bits;

	switch (way) {
	case LLC_INTEL_LEAF4:
		for (uint32_t i = 0; reg(v, 4, i, 0) & 0x1f; i++)
			eax = reg(v, 4, i, 0);
		if (!eax)
			return ~0u;
		bits = count_order(((eax >> 14) & 0xfff) + 1);
		return apic & ~((1u << bits) - 1);
	case LLC_AMD_SOCKET:
		if (!cpuid_find(v, 0x80000008, 0))
			return ~0u;
		ecx = reg(v, 0x80000008, 0, 2);
		bits = (ecx >> 12) & 0xf;
		if (!bits)
			bits = count_order((ecx & 0xff) + 1);
		return apic >> bits;
	case LLC_AMD_8000001D:
		for (uint32_t i = 0; reg(v, 0x8000001d, i, 0) & 0x1f; i++)
			eax = reg(v, 0x8000001d, i, 0);
		if (!eax)
			return ~0u;
		return apic >> count_order(((eax >> 14) & 0xfff) + 1);
	case LLC_AMD_NODE_ID:
		if (!cpuid_find(v, 0x8000001e, 0))
			return ~0u;
		return reg(v, 0x8000001e, 0, 2) & 0xff;
	case LLC_LEAF_B_PACKAGE:
		if (!reg(v, 0xb, 0, 1))
			return ~0u;
		return apic >> (reg(v, 0xb, 1, 0) & 0x1f);
	default:
		return ~0u;
	}
}

/* The vCPUs of ncpus on nodes, each adjusted from base and checked alone
 * and against each other: vCPUs share an LLC (by any of Linux's ways)
 * exactly when they share a node, APIC ids are unique and those of
 * cpu_topology (the MADT's and SRAT's, tests/test_acpi_tables.c). */
static void check_machine(unsigned int ncpus, unsigned int nodes)
{
	struct cpu_topology topo;

	cpu_topology_init(&topo, ncpus, nodes);
	for (unsigned int i = 0; i < ncpus; i++) {
		union cpuid_table *v = &vcpus[i];
		uint32_t apic = cpu_topology_apic_id(&topo, i);
		unsigned int node = cpu_topology_node(&topo, i);

		memcpy(v, &base, sizeof(*v));
		CHECK_EQ(cpuid_adjust(v, &topo, i, false), 0);
		features_within_supported(v);
		xsave_consistent(v);
		CHECK_EQ(reg(v, 1, 0, 1) >> 24, apic);
		CHECK_EQ(reg(v, 0xb, 0, 3), apic);
		CHECK_EQ(reg(v, 0xb, 1, 3), apic);
		CHECK_EQ(reg(v, 0xb, 1, 1), cpu_topology_cores(&topo, node));
		if (cpuid_find(v, 0x8000001e, 0)) {
			CHECK_EQ(reg(v, 0x8000001e, 0, 0), apic);
			CHECK_EQ(reg(v, 0x8000001e, 0, 2), node);
		}
		for (unsigned int j = 0; j < i; j++) {
			bool same = node == cpu_topology_node(&topo, j);

			CHECK(apic != reg(&vcpus[j], 1, 0, 1) >> 24);
			for (int w = 0; w < LLC_WAYS; w++) {
				unsigned int a = llc_id(v, (enum llc_way)w);

				if (a == ~0u)
					continue;
				CHECK_EQ(a == llc_id(&vcpus[j], (enum llc_way)w),
					 same);
			}
		}
	}
}

static void check_tables(void)
{
	static const unsigned int shapes[][2] = {
		{ 1, 1 }, { 2, 1 }, { 3, 1 }, { 4, 1 }, { 2, 2 }, { 3, 2 },
		{ 4, 2 }, { 8, 2 }, { 5, 3 }, { 8, 4 },
	};

	int failed = unit_failed;

	unit_failed = 0;
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		check_machine(shapes[s][0], shapes[s][1]);
		if (unit_failed) {
			printf("  with --cpus %u --numa nodes=%u\n",
			       shapes[s][0], shapes[s][1]);
			return;
		}
	}
	unit_failed = failed;
}

static void nested_amd_consistent(void)
{
	LOAD(nested_amd);
	check_tables();
	/* Nothing to hide there: AVX and PKRU are described, XCR0 is
	 * x87 | SSE | AVX | PKRU and KVM's size for it is PKRU's end. */
	CHECK_EQ(cpuid_xcr0(&vcpus[0]), 0x207);
	CHECK_EQ(reg(&vcpus[0], 0xd, 0, 2), 0xa88);
}

static void zen_amd_consistent(void)
{
	LOAD(zen_amd);
	check_tables();
	/* That KVM lists no XSAVE in leaf 1 but four components in leaf
	 * 0xD: without XSAVE there are none. */
	CHECK_EQ(cpuid_xcr0(&vcpus[0]), 0);
	CHECK_EQ(reg(&vcpus[0], 0xd, 0, 0), 0);
	CHECK_EQ(llc_id(&vcpus[0], LLC_AMD_8000001D), 0);
}

static void intel_consistent(void)
{
	LOAD(intel);
	check_tables();
	CHECK_EQ(cpuid_xcr0(&vcpus[0]), 0x2ff);
}

/* --cpus 2 --numa nodes=2 on the nested CPU: two sockets of one core, so
 * family 0xf's LLC id (the socket, APIC id >> ApicIdSize) differs. */
static void nested_two_nodes_two_sockets(void)
{
	struct cpu_topology topo;

	LOAD(nested_amd);
	cpu_topology_init(&topo, 2, 2);
	for (unsigned int i = 0; i < 2; i++) {
		memcpy(&vcpus[i], &base, sizeof(base));
		CHECK_EQ(cpuid_adjust(&vcpus[i], &topo, i, false), 0);
		CHECK_EQ(reg(&vcpus[i], 1, 0, 1) >> 24, i);
		CHECK_EQ(reg(&vcpus[i], 0x80000008, 0, 2) & 0xf0ff, 0);
		CHECK_EQ(llc_id(&vcpus[i], LLC_AMD_SOCKET), i);
	}
	/* One node: one socket of two cores, as before. */
	cpu_topology_init(&topo, 2, 1);
	memcpy(&vcpus[1], &base, sizeof(base));
	CHECK_EQ(cpuid_adjust(&vcpus[1], &topo, 1, false), 0);
	CHECK_EQ(reg(&vcpus[1], 0x80000008, 0, 2) & 0xf0ff, 0x1001);
	CHECK_EQ(llc_id(&vcpus[1], LLC_AMD_SOCKET), 0);
}

/* A 4-vCPU Intel machine on 2 nodes: vCPUs 0, 2 on node 0 get APIC ids
 * 0, 1; vCPUs 1, 3 on node 1 get 2, 3; the L3 is shared by a socket's
 * two, L1 and L2 by none. */
static void intel_four_on_two_nodes(void)
{
	struct cpu_topology topo;
	static const uint32_t apic[] = { 0, 2, 1, 3 };

	LOAD(intel);
	cpu_topology_init(&topo, 4, 2);
	for (unsigned int i = 0; i < 4; i++) {
		memcpy(&vcpus[i], &base, sizeof(base));
		CHECK_EQ(cpuid_adjust(&vcpus[i], &topo, i, false), 0);
		CHECK_EQ(reg(&vcpus[i], 1, 0, 1) >> 24, apic[i]);
		CHECK_EQ(reg(&vcpus[i], 4, 0, 0) >> 14 & 0xfff, 0);
		CHECK_EQ(reg(&vcpus[i], 4, 2, 0) >> 14 & 0xfff, 0);
		CHECK_EQ(reg(&vcpus[i], 4, 3, 0) >> 14 & 0xfff, 1);
		CHECK_EQ(reg(&vcpus[i], 4, 3, 0) >> 26, 1);
		CHECK_EQ(reg(&vcpus[i], 0xb, 1, 0), 1);
		CHECK_EQ(reg(&vcpus[i], 0xb, 1, 1), 2);
	}
}

static void drop_leaf(uint32_t fn, uint32_t index)
{
	for (uint32_t i = 0; i < base.h.nent; i++)
		if (base.h.entries[i].function == fn &&
		    base.h.entries[i].index == index)
			base.h.entries[i] = base.h.entries[--base.h.nent];
}

static void set_bits(uint32_t fn, uint32_t index, int r, uint32_t clear)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(&base, fn, index);
	uint32_t *p = r == 0 ? &e->eax : r == 1 ? &e->ebx : r == 2 ? &e->ecx
								  : &e->edx;

	*p &= ~clear;
}

/* A component without its subleaf, or without the feature Linux wants
 * for it, is hidden with the features that need it; the rest stays
 * self-consistent. */
static void xsave_hides_undescribed_components(void)
{
	union cpuid_table *v = &vcpus[0];

	LOAD(nested_amd);
	drop_leaf(0xd, 9);
	check_tables();
	CHECK_EQ(cpuid_xcr0(v), 0x7);
	CHECK_EQ(reg(v, 0xd, 0, 2), 0x340);
	CHECK_EQ(reg(v, 7, 0, 2) & (1u << 3), 0); /* PKU */

	LOAD(nested_amd);
	drop_leaf(0xd, 2);
	check_tables();
	CHECK_EQ(cpuid_xcr0(v), 0x203);
	CHECK_EQ(reg(v, 1, 0, 2) & ((1u << 12) | (1u << 28) | (1u << 29)), 0);
	CHECK_EQ(reg(v, 7, 0, 1) & (1u << 5), 0); /* AVX2 */
	CHECK_EQ(reg(v, 7, 0, 2) & (1u << 9), 0); /* VAES */

	/* AVX-512's components without AVX512F: Linux would leave them out
	 * of XCR0, so they go, and MPX's two only go together. */
	LOAD(intel);
	set_bits(7, 0, 1, 1u << 16);
	drop_leaf(0xd, 4);
	check_tables();
	CHECK_EQ(cpuid_xcr0(v), 0x207);
	CHECK_EQ(reg(v, 7, 0, 1) & ((1u << 14) | (1u << 17) | (1u << 31)), 0);
	CHECK_EQ(reg(v, 0xd, 5, 0) | reg(v, 0xd, 3, 0), 0);

	/* Without AVX, YMM goes, and AVX-512 with it. */
	LOAD(intel);
	set_bits(1, 0, 2, 1u << 28);
	check_tables();
	CHECK_EQ(cpuid_xcr0(v), 0x21b);
}

/* KVM reports the TSC-deadline timer as a capability; once added to the
 * supported table it survives the adjustment, leaving leaf 1's other
 * features as they were. */
static void tsc_deadline_added_and_kept(void)
{
	uint32_t ecx;

	host_table();
	CHECK(!(cpuid_find(&t, 1, 0)->ecx & (1u << 24)));
	CHECK_EQ(adjust(&t, 2, 1, 1, false), 0);
	ecx = cpuid_find(&t, 1, 0)->ecx;
	host_table();
	cpuid_add_tsc_deadline(&t);
	CHECK_EQ(adjust(&t, 2, 1, 1, false), 0);
	CHECK_EQ(cpuid_find(&t, 1, 0)->ecx, ecx | 1u << 24);
	/* A table without leaf 1 is left alone. */
	memset(&t, 0, sizeof(t));
	cpuid_add_tsc_deadline(&t);
	CHECK_EQ(t.h.nent, 0);
}

static void full_table_reports_enospc(void)
{
	memset(&t, 0, sizeof(t));
	t.h.nent = CPUID_MAX_ENTRIES;
	for (uint32_t i = 0; i < CPUID_MAX_ENTRIES; i++)
		t.h.entries[i].function = 0x100 + i;
	CHECK_EQ(adjust(&t, 1, 1, 0, false), -ENOSPC);
}

static void pvm_kernel_args_name_each_feature_once(void)
{
	char buf[128];

	CHECK_STR(cpuid_pvm_kernel_args(buf, sizeof(buf)),
		  "noxsave clearcpuid=141,151,308");
	/* Truncates instead of overrunning. */
	CHECK_EQ(strlen(cpuid_pvm_kernel_args(buf, 10)), 9);
}

UNIT_MAIN(UNIT_CASE(apic_id_and_topology),
	  UNIT_CASE(nested_amd_consistent),
	  UNIT_CASE(zen_amd_consistent),
	  UNIT_CASE(intel_consistent),
	  UNIT_CASE(nested_two_nodes_two_sockets),
	  UNIT_CASE(intel_four_on_two_nodes),
	  UNIT_CASE(xsave_hides_undescribed_components),
	  UNIT_CASE(pvm_kernel_args_name_each_feature_once),
	  UNIT_CASE(hypervisor_bit_and_kvm_leaves),
	  UNIT_CASE(leaf_b_subleaves_added),
	  UNIT_CASE(pvm_hides_hypercall_features),
	  UNIT_CASE(pvm_masks_hide_what_the_emulator_cannot_run),
	  UNIT_CASE(tsc_deadline_added_and_kept),
	  UNIT_CASE(full_table_reports_enospc))
