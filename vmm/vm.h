/* A running VM: KVM file descriptors, guest RAM, the buses and devices,
 * one thread per vCPU. The main thread owns it; vCPU threads only run
 * guest code and dispatch exits to the buses. */
#ifndef MEMPLUG_VMM_VM_H
#define MEMPLUG_VMM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/acpi_pm.h"
#include "devices/bus.h"
#include "devices/i8042.h"
#include "devices/memhp.h"
#include "devices/serial.h"
#include "firmware/cpu.h"
#include "firmware/guest_mem.h"
#include "vmm/config.h"
#include "vmm/kernel_image.h"
#include "vmm/memmap.h"

/* Why the VM stopped; the first reason reported wins. */
enum vm_state { VM_RUNNING, VM_POWEROFF, VM_RESET, VM_ERROR, VM_KILLED };

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread; /* joined by vm_destroy when created */
	bool created;
	/* Set by the vCPU thread itself, with its own handle in self, before
	 * it first checks the VM state: from then on vcpus_kick reaches it.
	 * Set by vm_start after pthread_create, a stop in between would miss
	 * a vCPU already inside KVM_RUN (an AP waiting for its SIPI) and
	 * vm_destroy would wait for it forever. Accessed atomically. */
	int kickable;
	pthread_t self;
};

struct vm {
	const struct config *cfg;
	const struct kernel_image *kernel; /* loaded anew on every boot */
	int kvm_fd, vm_fd;
	struct memmap map;
	struct guest_mem mem;
	struct bus pio, mmio;
	struct serial com1;
	struct acpi_pm pm;
	struct i8042 kbd;
	struct memhp memhp; /* registered only with hotplug slots */
	struct vcpu *vcpus;
	unsigned int nvcpus;
	struct cpu_topology topo; /* where each vCPU sits (vCPU id = index) */
	bool hide_pvm;
	char *cmdline; /* the guest's, with the PVM additions; NULL if none */
	int state;    /* enum vm_state, accessed atomically */
	int event_fd; /* readable once state leaves VM_RUNNING */
	/* Memory slot changes in progress; vCPU threads wait on hold_cond
	 * outside KVM_RUN while there are any (vm_set_dimm_memory). */
	pthread_mutex_t hold_lock;
	pthread_cond_t hold_cond;
	int holds; /* changed under hold_lock, read atomically */
	/* MEMPLUG_TEST_VCPU_DELAY_MS, a test-only hook (README): vCPU 0
	 * waits this long before its first KVM_RUN and vm_start twice this
	 * long after starting each other vCPU, which holds open the start-up
	 * window of the race above on any implementation. */
	unsigned int test_delay_ms;
};

/* Opens the KVM device and checks the API. Returns an fd or -errno, with a
 * message that says what to do. */
int vm_open_kvm(const char *path);

/* Checks the vCPU count against this KVM. Returns 0 or -EINVAL, with the
 * message logged. */
int vm_check_cpus(int kvm_fd, unsigned int cpus);

/* Builds the VM: memory, devices, ACPI tables, kernel, vCPUs. The memory
 * hotplug controller reports to memhp_ev; the serial port raises
 * console_room when the guest has read its input FIFO empty. */
int vm_create(struct vm *vm, int kvm_fd, const struct config *cfg,
	      const struct kernel_image *kernel, const struct memmap *map,
	      struct memhp_events memhp_ev, struct irq_line console_room);
/* Installs (size > 0) or removes (size 0) the KVM memory slot of DIMM
 * slot n, with every vCPU held outside KVM_RUN meanwhile. Callers
 * serialize their calls. Returns 0 or -errno. */
int vm_set_dimm_memory(struct vm *vm, unsigned int n, uint64_t gpa,
		       uint64_t size, void *hva);
/* Starts the vCPU threads (vcpu.c). */
int vm_start(struct vm *vm);
/* Records why the VM stops and kicks every vCPU out of KVM_RUN. */
void vm_request_stop(struct vm *vm, enum vm_state why);
/* Joins the vCPU threads and frees everything. */
void vm_destroy(struct vm *vm);

/* True when /dev/kvm is the PVM software KVM (kvm_pvm module). */
bool vm_kvm_is_pvm(void);

#endif
