#include "firmware/cpu.h"
#include "tests/unit.h"

static union cpuid_table t;

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
	CHECK_EQ(cpuid_adjust(&t, 2, 4, false), 0);
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
	CHECK_EQ(cpuid_adjust(&t, 0, 1, false), 0);
	CHECK(!(cpuid_find(&t, 1, 0)->edx & (1u << 28)));
	CHECK_EQ(cpuid_find(&t, 0xb, 1)->ebx, 1);
}

static void hypervisor_bit_and_kvm_leaves(void)
{
	struct kvm_cpuid_entry2 *e;

	host_table();
	CHECK_EQ(cpuid_adjust(&t, 0, 1, false), 0);
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
	CHECK_EQ(cpuid_adjust(&t, 0, 1, false), 0);
	CHECK_EQ(t.h.nent, 10); /* 7 + 0xb subleaf 2 + two KVM leaves */
}

/* An AMD host without leaf 0xB: KVM lists subleaf 0 only, all zeros. The
 * core level must be added, or Linux puts each vCPU in its own package. */
static void leaf_b_subleaves_added(void)
{
	struct kvm_cpuid_entry2 *e;

	memset(&t, 0, sizeof(t));
	add(0xb, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, 0, 0, 0, 0);
	CHECK_EQ(cpuid_adjust(&t, 1, 2, false), 0);
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
	CHECK_EQ(cpuid_adjust(&t, 0, 2, true), 0);
	e = cpuid_find(&t, 0x40000001, 0);
	CHECK_EQ(e->eax, 0x0100567b); /* PV_UNHALT, PV_SEND_IPI, PV_SCHED_YIELD off */
}

static void pvm_masks_hide_what_the_emulator_cannot_run(void)
{
	struct kvm_cpuid_entry2 *e;

	host_table();
	CHECK_EQ(cpuid_adjust(&t, 0, 1, false), 0);
	CHECK(cpuid_find(&t, 1, 0)->ecx & (1u << 13)); /* untouched without */
	host_table();
	CHECK_EQ(cpuid_adjust(&t, 0, 1, true), 0);
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

static void full_table_reports_enospc(void)
{
	memset(&t, 0, sizeof(t));
	t.h.nent = CPUID_MAX_ENTRIES;
	for (uint32_t i = 0; i < CPUID_MAX_ENTRIES; i++)
		t.h.entries[i].function = 0x100 + i;
	CHECK_EQ(cpuid_adjust(&t, 0, 1, false), -ENOSPC);
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
	  UNIT_CASE(pvm_kernel_args_name_each_feature_once),
	  UNIT_CASE(hypervisor_bit_and_kvm_leaves),
	  UNIT_CASE(leaf_b_subleaves_added),
	  UNIT_CASE(pvm_hides_hypercall_features),
	  UNIT_CASE(pvm_masks_hide_what_the_emulator_cannot_run),
	  UNIT_CASE(full_table_reports_enospc))
