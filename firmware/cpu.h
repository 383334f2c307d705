/* CPU state for a direct 64-bit kernel entry: GDT, identity page tables,
 * segment and control registers, MSRs, LAPIC LINT pins, and the CPUID the
 * guest sees. */
#ifndef MEMPLUG_FIRMWARE_CPU_H
#define MEMPLUG_FIRMWARE_CPU_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/guest_mem.h"
#include "firmware/topology.h"

#define CPUID_MAX_ENTRIES 256

/* A kvm_cpuid2 with room for CPUID_MAX_ENTRIES entries, h.entries[]. A
 * union: C11 allows no struct member after a flexible array. */
union cpuid_table {
	struct kvm_cpuid2 h;
	unsigned char room[sizeof(struct kvm_cpuid2) +
			   CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2)];
};

/* Writes the GDT and the identity page tables (first 4 GiB, 2 MiB pages). */
int cpu_write_boot_tables(const struct guest_mem *mem);

/* Puts vCPU fd in 64-bit mode at entry with %rsi = boot_params. */
int cpu_setup_boot_regs(int vcpu_fd, uint64_t entry, uint64_t boot_params);

/* MSRs and LAPIC set-up every vCPU needs (BSP and APs). */
int cpu_setup_common(int vcpu_fd);

/* Turns KVM's supported CPUID into the one vCPU `vcpu` of topo sees:
 * APIC ID and topology, a self-consistent set of XSAVE components, the
 * hypervisor bit and KVM's paravirtual leaves, and, when hide_pvm is set,
 * the features the PVM emulator cannot run. Returns 0 or -ENOSPC. */
int cpuid_adjust(union cpuid_table *t, const struct cpu_topology *topo,
		 unsigned int vcpu, bool hide_pvm);

/* Adds the TSC-deadline timer to KVM's supported CPUID t. KVM's LAPIC
 * emulates it, but KVM reports it as KVM_CAP_TSC_DEADLINE_TIMER, not in
 * KVM_GET_SUPPORTED_CPUID, so a VMM offers it only if it asks. */
void cpuid_add_tsc_deadline(union cpuid_table *t);

/* The user XSAVE components t exposes (leaf 0xD subleaf 0), the XCR0 the
 * guest kernel sets; 0 without XSAVE. */
uint64_t cpuid_xcr0(union cpuid_table *t);

/* Sets the vCPU's XCR0 (KVM_SET_XCRS); xcr0 from cpuid_xcr0. */
int cpu_set_xcr0(int vcpu_fd, uint64_t xcr0);

/* The guest kernel parameters that hide the same features where KVM does
 * not apply our CPUID (the PVM KVM): "noxsave clearcpuid=141,...". */
const char *cpuid_pvm_kernel_args(char *buf, size_t len);

/* Looks up a leaf/subleaf; NULL if absent. */
struct kvm_cpuid_entry2 *cpuid_find(union cpuid_table *t, uint32_t fn,
				    uint32_t index);

#endif
