/* The vCPUs of a VM: set-up, their threads and the exit switch that
 * dispatches port and MMIO accesses to the buses, the kick that pulls them
 * out of KVM_RUN, and the hold that keeps them out while a memory slot
 * changes. vm_start() (vm.h) starts the threads. */
#ifndef MEMPLUG_VMM_VCPU_H
#define MEMPLUG_VMM_VCPU_H

#include <stdint.h>

#include "firmware/cpu.h"
#include "vmm/vm.h"

/* Creates vCPU v->id with the CPUID memplug gives it; vCPU 0 starts at
 * entry (the others wait for INIT/SIPI). Returns 0 or -errno (logged). */
int vcpu_setup(struct vm *vm, struct vcpu *v,
	       const union cpuid_table *supported, uint64_t entry);
/* Pulls every kickable vCPU out of KVM_RUN (see vcpu.c). */
void vcpus_kick(struct vm *vm);
/* Keeps every vCPU out of KVM_RUN until vcpus_release(); nests. */
void vcpus_hold(struct vm *vm);
void vcpus_release(struct vm *vm);

#endif
