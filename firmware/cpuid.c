#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "firmware/cpu.h"

#define KVM_SIGNATURE_LEAF 0x40000000
#define KVM_FEATURES_LEAF 0x40000001
/* Paravirtual features offered when KVM does not list its own leaves:
 * kvm-clock (new MSRs, stable bit) and no I/O port delay. */
#define KVM_FEATURE_NOP_IO_DELAY (1u << 1)
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)
#define KVM_FEATURE_CLOCKSOURCE_STABLE (1u << 24)
/* These three are used through hypercalls (KVM_HC_KICK_CPU, _SEND_IPI,
 * _SCHED_YIELD). */
#define KVM_FEATURE_PV_UNHALT (1u << 7)
#define KVM_FEATURE_PV_SEND_IPI (1u << 11)
#define KVM_FEATURE_PV_SCHED_YIELD (1u << 13)

#define CPUID1_ECX_HYPERVISOR (1u << 31)
#define CPUID1_EDX_HTT (1u << 28)
#define CPUID1_ECX_XSAVE (1u << 26)
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)
/* The legacy region (512) and the XSAVE header (64). */
#define XSAVE_LEGACY_SIZE 576

enum reg { EAX, EBX, ECX, EDX };

/* Features the PVM software KVM cannot execute at CPL 0 (the guest stops
 * with KVM_EXIT_INTERNAL_ERROR, emulation failure), measured by booting the
 * test guest (KVM-ON-THESE-MACHINES.md). They are cleared in the CPUID we
 * give KVM and also named on the guest's command line (clearcpuid=, or its
 * own switch): this KVM answers most CPUID leaves from the host CPU and
 * ignores our table for them (XSAVE, POPCNT and SMAP stay visible), so only
 * the kernel parameter really hides them here. Hiding XSAVE also hides
 * every XSAVE component and the features that need one (AVX, AVX-512,
 * PKU: xsave_components). The KVM paravirtual entry needs no parameter
 * because this KVM does honour our table for its own leaves. */
/* A CPUID feature: leaf fn, subleaf index, register, bits. */
struct feature {
	uint32_t fn, index;
	enum reg reg;
	uint32_t bits;
};

static const struct pvm_mask {
	struct feature f;
	/* "noxsave", or the clearcpuid= number: Linux's X86_FEATURE_* as
	 * word * 32 + bit. Numbers, because names need the guest kernel to be
	 * built with CONFIG_X86_FEATURE_NAMES. */
	const char *param;
	const char *why;
} pvm_masks[] = {
	{ { 1, 0, ECX, 1u << 13 }, "141" /* 4*32+13 */, "lock cmpxchg16b (SLUB) is not emulated" },
	{ { 1, 0, ECX, 1u << 23 }, "151" /* 4*32+23 */, "popcnt (bitmap_weight) is not emulated" },
	{ { 1, 0, ECX, (1u << 26) | (1u << 27) }, "noxsave",
	  "xsave/xrstor (FPU init) are not emulated" },
	{ { 7, 0, EBX, 1u << 20 }, "308" /* 9*32+20 */, "clac/stac (SMAP) are not emulated" },
	{ { KVM_FEATURES_LEAF, 0, EAX, KVM_FEATURE_PV_UNHALT |
		KVM_FEATURE_PV_SEND_IPI | KVM_FEATURE_PV_SCHED_YIELD }, NULL,
	  "the paravirtual features that make hypercalls: vmcall/vmmcall at "
	  "CPL 0 never completes (the vCPU stays on the instruction), so the "
	  "first PV IPI of a second vCPU hangs the guest" },
};

const char *cpuid_pvm_kernel_args(char *buf, size_t len)
{
	const char *sep = "clearcpuid=";
	size_t n = 0;

	buf[0] = 0;
	for (size_t i = 0; i < sizeof(pvm_masks) / sizeof(pvm_masks[0]); i++)
		if (pvm_masks[i].param && !strcmp(pvm_masks[i].param, "noxsave"))
			n += (size_t)snprintf(buf + n, n < len ? len - n : 0,
					      "noxsave ");
	for (size_t i = 0; i < sizeof(pvm_masks) / sizeof(pvm_masks[0]); i++) {
		const char *p = pvm_masks[i].param;

		if (!p || !strcmp(p, "noxsave"))
			continue;
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s",
				      sep, p);
		sep = ",";
	}
	return buf;
}

struct kvm_cpuid_entry2 *cpuid_find(union cpuid_table *t, uint32_t fn,
				    uint32_t index)
{
	for (uint32_t i = 0; i < t->h.nent; i++) {
		struct kvm_cpuid_entry2 *e = &t->h.entries[i];

		if (e->function == fn &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     e->index == index))
			return e;
	}
	return NULL;
}

static uint32_t *reg_of(struct kvm_cpuid_entry2 *e, enum reg r)
{
	switch (r) {
	case EAX: return &e->eax;
	case EBX: return &e->ebx;
	case ECX: return &e->ecx;
	default: return &e->edx;
	}
}

static struct kvm_cpuid_entry2 *cpuid_add(union cpuid_table *t, uint32_t fn)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(t, fn, 0);

	if (e)
		return e;
	if (t->h.nent >= CPUID_MAX_ENTRIES)
		return NULL;
	e = &t->h.entries[t->h.nent++];
	memset(e, 0, sizeof(*e));
	e->function = fn;
	return e;
}

/* Leaf 0xB needs its core level (subleaf 1) and the end marker (subleaf
 * 2); KVM may list only subleaf 0 (an AMD host without the leaf: all
 * zeros). Without subleaf 1 Linux puts every vCPU in a package of its own. */
static int cpuid_add_topology_subleaves(union cpuid_table *t, uint32_t fn)
{
	struct kvm_cpuid_entry2 *e0 = cpuid_find(t, fn, 0);

	if (!e0 || !(e0->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX))
		return 0;
	for (uint32_t idx = 1; idx <= 2; idx++) {
		struct kvm_cpuid_entry2 *e = cpuid_find(t, fn, idx);

		if (e && e->index == idx)
			continue;
		if (t->h.nent >= CPUID_MAX_ENTRIES)
			return -ENOSPC;
		e = &t->h.entries[t->h.nent++];
		memset(e, 0, sizeof(*e));
		e->function = fn;
		e->index = idx;
		e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	}
	return 0;
}

/* XSAVE components that go together, the CPUID feature Linux requires
 * for them (xsave_cpuid_features[] in 6.1's fpu/xstate.c: without it the
 * kernel leaves them out of XCR0) and the features that need them. A
 * group is exposed whole or not at all: XSETBV refuses AVX-512's three
 * components unless all are set with YMM, and MPX's or AMX's two unless
 * both are. Groups come after the groups they require. */
static const struct xsave_group {
	uint64_t components, requires;
	struct feature enabled_by;
	struct feature dependents[4];
} xsave_groups[] = {
	{ 1ull << 2, 0, { 1, 0, ECX, 1u << 28 },	/* YMM: AVX */
	  { { 1, 0, ECX, (1u << 12) | (1u << 28) | (1u << 29) }, /* FMA, F16C */
	    { 7, 0, EBX, 1u << 5 },			/* AVX2 */
	    { 7, 0, ECX, (1u << 9) | (1u << 10) },	/* VAES, VPCLMULQDQ */
	    { 7, 1, EAX, 1u << 4 } } },			/* AVX-VNNI */
	{ (1ull << 3) | (1ull << 4), 0, { 7, 0, EBX, 1u << 14 }, /* MPX */
	  { { 7, 0, EBX, 1u << 14 } } },
	{ (1ull << 5) | (1ull << 6) | (1ull << 7), 1ull << 2,
	  { 7, 0, EBX, 1u << 16 },			/* AVX-512 */
	  { { 7, 0, EBX, (1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) |
			 (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31) },
	    { 7, 0, ECX, (1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) |
			 (1u << 14) },
	    { 7, 0, EDX, (1u << 2) | (1u << 3) | (1u << 8) | (1u << 23) },
	    { 7, 1, EAX, 1u << 5 } } },			/* AVX512-BF16 */
	{ 1ull << 9, 0, { 7, 0, ECX, 1u << 3 },		/* PKRU: PKU */
	  { { 7, 0, ECX, (1u << 3) | (1u << 4) } } },	/* PKU, OSPKE */
	{ (1ull << 17) | (1ull << 18), 0, { 7, 0, EDX, 1u << 24 }, /* AMX */
	  { { 7, 0, EDX, (1u << 22) | (1u << 24) | (1u << 25) } } },
};

/* The subleaf itself, not the leaf's first entry as cpuid_find gives for
 * a leaf without KVM_CPUID_FLAG_SIGNIFCANT_INDEX. */
static struct kvm_cpuid_entry2 *subleaf(union cpuid_table *t, uint32_t fn,
					uint32_t index)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(t, fn, index);

	return e && e->index == index ? e : NULL;
}

static bool has_feature(union cpuid_table *t, const struct feature *f)
{
	struct kvm_cpuid_entry2 *e = subleaf(t, f->fn, f->index);

	return e && (*reg_of(e, f->reg) & f->bits);
}

static void clear_feature(union cpuid_table *t, const struct feature *f)
{
	struct kvm_cpuid_entry2 *e = subleaf(t, f->fn, f->index);

	if (e)
		*reg_of(e, f->reg) &= ~f->bits;
}

void cpuid_add_tsc_deadline(union cpuid_table *t)
{
	struct kvm_cpuid_entry2 *e = subleaf(t, 1, 0);

	if (e)
		e->ecx |= CPUID1_ECX_TSC_DEADLINE;
}

/* Offset + size of the end of the standard-format XSAVE area holding
 * components; 576 (legacy area and header) for x87/SSE alone. */
static uint32_t xsave_standard_size(union cpuid_table *t, uint64_t components)
{
	uint32_t size = XSAVE_LEGACY_SIZE;

	for (uint32_t i = 2; i < 64; i++) {
		struct kvm_cpuid_entry2 *e = subleaf(t, 0xd, i);

		if ((components >> i & 1) && e && e->ebx + e->eax > size)
			size = e->ebx + e->eax;
	}
	return size;
}

/* Leaves exposed only the XSAVE components that are described (a subleaf
 * with a size), whose group is whole and whose enabling feature is there,
 * and hides the features that need a component it drops: the guest then
 * puts in XCR0 exactly the components of leaf 0xD, the XCR0 memplug sets
 * (cpuid_xcr0). Without XSAVE, leaf 0xD is all zeros. */
static void xsave_components(union cpuid_table *t)
{
	struct kvm_cpuid_entry2 *l1 = subleaf(t, 1, 0);
	struct kvm_cpuid_entry2 *d0 = subleaf(t, 0xd, 0);
	struct kvm_cpuid_entry2 *d1 = subleaf(t, 0xd, 1);
	bool xsave = l1 && (l1->ecx & CPUID1_ECX_XSAVE) && d0;
	uint64_t listed = 0, keep;

	if (d0)
		listed |= d0->eax | (uint64_t)d0->edx << 32;
	if (d1)
		listed |= d1->ecx | (uint64_t)d1->edx << 32;
	keep = xsave ? listed : 0;
	for (uint32_t i = 2; i < 64; i++) {
		struct kvm_cpuid_entry2 *e = subleaf(t, 0xd, i);

		if ((keep >> i & 1) && (!e || !e->eax))
			keep &= ~(1ull << i);
	}
	for (size_t g = 0; g < sizeof(xsave_groups) / sizeof(xsave_groups[0]); g++) {
		const struct xsave_group *x = &xsave_groups[g];

		if ((keep & x->components) == x->components &&
		    (keep & x->requires) == x->requires &&
		    has_feature(t, &x->enabled_by))
			continue;
		keep &= ~x->components;
		for (size_t d = 0; d < sizeof(x->dependents) / sizeof(x->dependents[0]); d++)
			if (x->dependents[d].fn)
				clear_feature(t, &x->dependents[d]);
	}
	for (uint32_t i = 0; i < t->h.nent; i++) {
		struct kvm_cpuid_entry2 *e = &t->h.entries[i];

		if (e->function == 0xd &&
		    (!xsave || (e->index >= 2 && e->index < 64 &&
				!(keep >> e->index & 1))))
			e->eax = e->ebx = e->ecx = e->edx = 0;
	}
	if (!xsave)
		return;
	d0->eax &= (uint32_t)keep;
	d0->edx &= (uint32_t)(keep >> 32);
	/* ECX: the area for every component XCR0 may enable. EBX is KVM's,
	 * recomputed from the guest's XCR0. */
	d0->ecx = xsave_standard_size(t, cpuid_xcr0(t));
	if (d1) {
		d1->ecx &= (uint32_t)keep;
		d1->edx &= (uint32_t)(keep >> 32);
	}
}

uint64_t cpuid_xcr0(union cpuid_table *t)
{
	struct kvm_cpuid_entry2 *l1 = subleaf(t, 1, 0);
	struct kvm_cpuid_entry2 *d0 = subleaf(t, 0xd, 0);

	if (!l1 || !(l1->ecx & CPUID1_ECX_XSAVE) || !d0)
		return 0;
	return d0->eax | (uint64_t)d0->edx << 32;
}

/* The topology leaves of cpu_topology: one thread per core, the socket's
 * cores on its node, caches of level 1 and 2 private to the vCPU and the
 * last level (3) shared by the socket, so that Linux's LLC id is the
 * socket on every path: Intel's leaf 4 sharing count, AMD family 0x17+'s
 * leaf 0x8000001D count, family 0x15/0x16's 0x8000001E node id, and
 * family 0xf's socket (APIC id >> 0x80000008's ApicIdSize; the nested
 * kvm_amd here is such a CPU: family 0xf, no TOPOEXT). */
static void topology_leaf(struct kvm_cpuid_entry2 *e,
			  const struct cpu_topology *topo, unsigned int vcpu)
{
	unsigned int apic = cpu_topology_apic_id(topo, vcpu);
	unsigned int node = cpu_topology_node(topo, vcpu);
	unsigned int cores = cpu_topology_cores(topo, node);
	unsigned int bits = topo->core_bits;
	uint32_t ids = 1u << bits; /* APIC ids per socket */
	uint32_t shared = ((e->eax >> 5 & 7) >= 3 ? ids : 1) - 1;

	switch (e->function) {
	case 1:
		/* EBX[23:16]: addressable ids per package, 8 bits. */
		e->ebx = (e->ebx & 0xffff) | apic << 24 |
			 (ids > 0xff ? 0xff : ids) << 16;
		if (ids > 1)
			e->edx |= CPUID1_EDX_HTT;
		else
			e->edx &= ~CPUID1_EDX_HTT;
		break;
	case 4:
		/* EAX[31:26] cores per package - 1, [25:14] vCPUs sharing
		 * this cache - 1; a type of 0 ends the list. */
		if (e->eax & 0x1f)
			e->eax = (e->eax & 0x3fff) | (shared & 0xfff) << 14 |
				 ((ids - 1) & 0x3f) << 26;
		break;
	case 0xb:
	case 0x1f:
		/* Level 0 SMT (1 thread), level 1 the socket's cores, then
		 * the end marker. */
		e->edx = apic;
		if (e->index == 0) {
			e->eax = 0;
			e->ebx = 1;
			e->ecx = 0x100;
		} else if (e->index == 1) {
			e->eax = bits;
			e->ebx = cores;
			e->ecx = 0x201;
		} else {
			e->eax = e->ebx = 0;
			e->ecx = e->index;
		}
		break;
	case 0x80000008:
		/* ECX[15:12] ApicIdSize, [7:0] cores in the package - 1. */
		e->ecx = (e->ecx & ~0xf0ffu) | bits << 12 | ((cores - 1) & 0xff);
		break;
	case 0x8000001d:
		if (e->eax & 0x1f)
			e->eax = (e->eax & ~(0xfffu << 14)) | (shared & 0xfff) << 14;
		break;
	case 0x8000001e:
		/* EBX: one thread per core, the core's number in its socket;
		 * ECX: one node per socket, its number. */
		e->eax = apic;
		e->ebx = cpu_topology_core(topo, vcpu) & 0xff;
		e->ecx = node & 0xff;
		break;
	}
}

int cpuid_adjust(union cpuid_table *t, const struct cpu_topology *topo,
		 unsigned int vcpu, bool hide_pvm)
{
	struct kvm_cpuid_entry2 *e;

	if (cpuid_add_topology_subleaves(t, 0xb) < 0)
		return -ENOSPC;

	for (uint32_t i = 0; i < t->h.nent; i++) {
		e = &t->h.entries[i];
		topology_leaf(e, topo, vcpu);
		if (e->function == 1)
			e->ecx |= CPUID1_ECX_HYPERVISOR;
	}
	if (hide_pvm)
		for (size_t i = 0; i < sizeof(pvm_masks) / sizeof(pvm_masks[0]); i++)
			clear_feature(t, &pvm_masks[i].f);
	xsave_components(t);

	/* KVM's own leaves, so the guest finds kvm-clock. Keep what KVM
	 * reported if it did. */
	e = cpuid_add(t, KVM_SIGNATURE_LEAF);
	if (!e)
		return -ENOSPC;
	e->eax = KVM_FEATURES_LEAF;
	memcpy(&e->ebx, "KVMK", 4);
	memcpy(&e->ecx, "VMKV", 4);
	memcpy(&e->edx, "M\0\0\0", 4);
	e = cpuid_find(t, KVM_FEATURES_LEAF, 0);
	if (!e) {
		e = cpuid_add(t, KVM_FEATURES_LEAF);
		if (!e)
			return -ENOSPC;
		e->eax = KVM_FEATURE_NOP_IO_DELAY | KVM_FEATURE_CLOCKSOURCE2 |
			 KVM_FEATURE_CLOCKSOURCE_STABLE;
	}
	return 0;
}
