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

enum reg { EAX, EBX, ECX, EDX };

/* Features the PVM software KVM cannot execute at CPL 0 (the guest stops
 * with KVM_EXIT_INTERNAL_ERROR, emulation failure), measured by booting the
 * test guest (KVM-ON-THESE-MACHINES.md). They are cleared in the CPUID we
 * give KVM and also named on the guest's command line (clearcpuid=, or its
 * own switch): this KVM answers most CPUID leaves from the host CPU and
 * ignores our table for them (XSAVE, POPCNT and SMAP stay visible), so only
 * the kernel parameter really hides them here. The AVX family entries are
 * not failing themselves but require XSAVE; clearing them keeps the CPUID
 * self-consistent. The KVM paravirtual entry needs no parameter because
 * this KVM does honour our table for its own leaves. */
static const struct pvm_mask {
	uint32_t fn, index;
	enum reg reg;
	uint32_t bits;
	/* "noxsave", or the clearcpuid= number: Linux's X86_FEATURE_* as
	 * word * 32 + bit. Numbers, because names need the guest kernel to be
	 * built with CONFIG_X86_FEATURE_NAMES. */
	const char *param;
	const char *why;
} pvm_masks[] = {
	{ 1, 0, ECX, 1u << 13, "141" /* 4*32+13 */, "lock cmpxchg16b (SLUB) is not emulated" },
	{ 1, 0, ECX, 1u << 23, "151" /* 4*32+23 */, "popcnt (bitmap_weight) is not emulated" },
	{ 1, 0, ECX, (1u << 26) | (1u << 27), "noxsave",
	  "xsave/xrstor (FPU init) are not emulated" },
	{ 7, 0, EBX, 1u << 20, "308" /* 9*32+20 */, "clac/stac (SMAP) are not emulated" },
	{ 1, 0, ECX, (1u << 12) | (1u << 28) | (1u << 29), NULL,
	  "FMA, AVX, F16C: need XSAVE" },
	{ 7, 0, EBX, (1u << 5) | (1u << 16) | (1u << 17) | (1u << 21) |
		     (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) |
		     (1u << 31), NULL, "AVX2, AVX-512: need XSAVE" },
	{ 7, 0, ECX, (1u << 1) | (1u << 6) | (1u << 8) | (1u << 9) |
		     (1u << 10) | (1u << 11) | (1u << 12) | (1u << 14), NULL,
	  "AVX-512 and VEX-encoded extensions: need XSAVE" },
	{ 7, 0, EDX, (1u << 2) | (1u << 3) | (1u << 8) | (1u << 23), NULL,
	  "AVX-512 extensions: need XSAVE" },
	{ 7, 1, EAX, (1u << 4) | (1u << 5), NULL,
	  "AVX-VNNI, AVX512-BF16: need XSAVE" },
	{ KVM_FEATURES_LEAF, 0, EAX, KVM_FEATURE_PV_UNHALT |
		KVM_FEATURE_PV_SEND_IPI | KVM_FEATURE_PV_SCHED_YIELD, NULL,
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

static unsigned int order_of(unsigned int n)
{
	unsigned int o = 0;

	while ((1u << o) < n)
		o++;
	return o;
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

int cpuid_adjust(union cpuid_table *t, unsigned int id, unsigned int ncpus,
		 bool hide_pvm)
{
	unsigned int order = order_of(ncpus);
	struct kvm_cpuid_entry2 *e;

	if (cpuid_add_topology_subleaves(t, 0xb) < 0)
		return -ENOSPC;

	for (uint32_t i = 0; i < t->h.nent; i++) {
		e = &t->h.entries[i];
		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0xffff) | (id << 24) |
				 ((1u << order) << 16);
			e->ecx |= CPUID1_ECX_HYPERVISOR;
			if (ncpus > 1)
				e->edx |= CPUID1_EDX_HTT;
			else
				e->edx &= ~CPUID1_EDX_HTT;
			break;
		case 4:
			/* One core per vCPU, caches private to a thread. */
			if (e->eax & 0x1f)
				e->eax = (e->eax & 0x3fff) |
					 ((uint32_t)((1u << order) - 1) << 26);
			break;
		case 0xb:
		case 0x1f:
			/* x2APIC topology: level 0 SMT (1 thread), level 1
			 * cores (all vCPUs), then the end marker. */
			e->edx = id;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = 0x100;
			} else if (e->index == 1) {
				e->eax = order;
				e->ebx = ncpus;
				e->ecx = 0x201;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		case 0x80000008:
			e->ecx = (e->ecx & ~0xf0ffu) | (ncpus - 1);
			break;
		case 0x8000001e:
			e->eax = id;
			e->ebx = id & 0xff;
			e->ecx = 0;
			break;
		case 0xd:
			if (hide_pvm)
				e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		}
	}
	if (hide_pvm)
		for (size_t i = 0; i < sizeof(pvm_masks) / sizeof(pvm_masks[0]); i++) {
			const struct pvm_mask *m = &pvm_masks[i];

			e = cpuid_find(t, m->fn, m->index);
			if (e && e->index == m->index)
				*reg_of(e, m->reg) &= ~m->bits;
		}

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
