#include "vmm/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "include/memplug/layout.h"
#include "lib/log.h"

/* XCR0 after reset: x87 and SSE state only. */
#define XCR0_X87_SSE 0x3

/* Sent to a vCPU thread to pull it out of KVM_RUN. */
#define SIG_KICK SIGUSR1

/* Pulls every kickable vCPU out of KVM_RUN, the calling one included
 * (it then makes one extra, empty KVM_RUN). The caller has first set the
 * state the vCPU threads check before they enter KVM_RUN again. */
void vcpus_kick(struct vm *vm)
{
	for (unsigned int i = 0; vm->vcpus && i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (!atomic_load((_Atomic int *)&v->kickable))
			continue;
		/* Set before the signal: a vCPU about to enter KVM_RUN then
		 * returns at once instead of missing the kick. */
		atomic_store((_Atomic uint8_t *)&v->run->immediate_exit, 1);
		pthread_kill(v->self, SIG_KICK);
	}
}

static bool vm_running(struct vm *vm)
{
	return atomic_load((_Atomic int *)&vm->state) == VM_RUNNING;
}

/* Asks every vCPU to leave KVM_RUN and stay out until vcpus_release().
 * It does not wait for them: KVM_SET_USER_MEMORY_REGION allocates first
 * and only then waits for the vCPUs inside KVM_RUN (its SRCU readers); by
 * then they have normally left. Without the hold, a busy guest made a
 * 128M slot take ~1 ms instead of ~0.25 ms (docs/notes.md). */
void vcpus_hold(struct vm *vm)
{
	pthread_mutex_lock(&vm->hold_lock);
	atomic_fetch_add((_Atomic int *)&vm->holds, 1);
	pthread_mutex_unlock(&vm->hold_lock);
	vcpus_kick(vm);
}

void vcpus_release(struct vm *vm)
{
	pthread_mutex_lock(&vm->hold_lock);
	atomic_fetch_sub((_Atomic int *)&vm->holds, 1);
	pthread_cond_broadcast(&vm->hold_cond);
	pthread_mutex_unlock(&vm->hold_lock);
}

static bool vcpus_held(struct vm *vm)
{
	return atomic_load((_Atomic int *)&vm->holds) > 0;
}

static void vcpu_wait_release(struct vm *vm)
{
	pthread_mutex_lock(&vm->hold_lock);
	while (vcpus_held(vm) && vm_running(vm))
		pthread_cond_wait(&vm->hold_cond, &vm->hold_lock);
	pthread_mutex_unlock(&vm->hold_lock);
}

int vcpu_setup(struct vm *vm, struct vcpu *v,
	       const union cpuid_table *supported, uint64_t entry)
{
	union cpuid_table *cpuid;
	uint64_t xcr0;
	int r;

	v->vm = vm;
	/* KVM's vCPU id is the vCPU's APIC id. */
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU,
		      (unsigned long)cpu_topology_apic_id(&vm->topo, v->id));
	if (v->fd < 0) {
		r = -errno;
		log_error("cannot create vCPU %u: %s", v->id, strerror(-r));
		return r;
	}
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED) {
		r = -errno;
		v->run = NULL;
		log_error("cannot map the kvm_run area of vCPU %u: %s", v->id,
			  strerror(-r));
		return r;
	}
	cpuid = malloc(sizeof(*cpuid));
	if (!cpuid) {
		log_error("no memory for the CPUID of vCPU %u", v->id);
		return -ENOMEM;
	}
	memcpy(cpuid, supported, sizeof(*cpuid));
	r = cpuid_adjust(cpuid, &vm->topo, v->id, vm->hide_pvm);
	if (r == 0 && ioctl(v->fd, KVM_SET_CPUID2, &cpuid->h) < 0)
		r = -errno;
	xcr0 = cpuid_xcr0(cpuid);
	free(cpuid);
	if (r < 0) {
		log_error("cannot set CPUID of vCPU %u: %s", v->id, strerror(-r));
		return r;
	}
	/* XCR0 as the guest kernel will set it, so that KVM's leaf 0xD EBX
	 * (recomputed from XCR0) is right even where KVM never sees the
	 * guest's XSETBV: in the nested kvm_amd under QEMU-TCG it did not,
	 * XCR0 stayed 0x1 and the stock 6.1 kernel warned "size 2696 !=
	 * kernel_size 576" in fpu__init_system_xstate. Where KVM does see it
	 * the guest's own XSETBV overrides this; INIT keeps it for the APs. */
	if (xcr0 & ~XCR0_X87_SSE && (r = cpu_set_xcr0(v->fd, xcr0)) < 0) {
		log_error("cannot set XCR0 of vCPU %u to 0x%llx: %s", v->id,
			  (unsigned long long)xcr0, strerror(-r));
		return r;
	}
	if ((r = cpu_setup_common(v->fd)) < 0) {
		log_error("cannot set up MSRs/LAPIC of vCPU %u: %s", v->id,
			  strerror(-r));
		return r;
	}
	/* Application processors wait for INIT/SIPI from the boot CPU. */
	if (v->id == 0 &&
	    (r = cpu_setup_boot_regs(v->fd, entry, LAYOUT_BOOT_PARAMS)) < 0) {
		log_error("cannot set up boot registers: %s", strerror(-r));
		return r;
	}
	return 0;
}

static const char *internal_error_name(uint32_t suberror)
{
	switch (suberror) {
	case KVM_INTERNAL_ERROR_EMULATION: return "emulation failure";
	case KVM_INTERNAL_ERROR_SIMUL_EX: return "simultaneous exceptions";
	case KVM_INTERNAL_ERROR_DELIVERY_EV: return "exception during event delivery";
	case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON: return "unexpected exit reason";
	}
	return "unknown";
}

/* RIP and, when the page tables lead to guest RAM, the bytes there: enough
 * to see which instruction KVM could not run. */
static void describe_rip(struct vcpu *v, char *buf, size_t len)
{
	struct kvm_translation tr = { 0 };
	struct kvm_regs regs;
	const uint8_t *code;
	size_t n;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0) {
		snprintf(buf, len, "RIP unknown (%s)", strerror(errno));
		return;
	}
	n = (size_t)snprintf(buf, len, "RIP 0x%llx", regs.rip);
	tr.linear_address = regs.rip;
	if (ioctl(v->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid)
		return;
	code = guest_ptr(&v->vm->mem, tr.physical_address, 8);
	if (!code)
		return;
	n += (size_t)snprintf(buf + n, len - n, ", code");
	for (int i = 0; i < 8 && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, " %02x", code[i]);
}

/* Returns true while the vCPU should keep running. */
static bool vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct vm *vm = v->vm;
	char where[128];

	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		uint8_t *data = (uint8_t *)run + run->io.data_offset;

		for (uint32_t i = 0; i < run->io.count; i++)
			bus_access(&vm->pio, run->io.port,
				   data + (size_t)i * run->io.size, run->io.size,
				   run->io.direction == KVM_EXIT_IO_OUT);
		return true;
	}
	case KVM_EXIT_MMIO:
		if (run->mmio.len <= sizeof(run->mmio.data))
			bus_access(&vm->mmio, run->mmio.phys_addr, run->mmio.data,
				   run->mmio.len, run->mmio.is_write);
		return true;
	case KVM_EXIT_HLT:
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* A triple fault: what a PC does is reset, and Linux uses it
		 * as its last way to reboot. */
		describe_rip(v, where, sizeof(where));
		log_warn("vCPU %u: triple fault at %s; resetting the guest",
			 v->id, where);
		vm_request_stop(vm, VM_RESET);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vm_request_stop(vm, VM_POWEROFF);
			break;
		case KVM_SYSTEM_EVENT_RESET:
			vm_request_stop(vm, VM_RESET);
			break;
		default:
			log_error("vCPU %u: guest crashed (system event %u)",
				  v->id, run->system_event.type);
			vm_request_stop(vm, VM_ERROR);
		}
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		describe_rip(v, where, sizeof(where));
		log_error("vCPU %u: KVM internal error, exit reason %u, suberror "
			  "%u (%s) at %s", v->id, run->exit_reason,
			  run->internal.suberror,
			  internal_error_name(run->internal.suberror), where);
		if (vm->hide_pvm && run->internal.suberror ==
					    KVM_INTERNAL_ERROR_EMULATION)
			log_error("this KVM emulates guest kernel code and "
				  "cannot run that instruction; see "
				  "KVM-ON-THESE-MACHINES.md");
		vm_request_stop(vm, VM_ERROR);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		log_error("vCPU %u: KVM could not enter the guest, hardware "
			  "reason 0x%llx", v->id,
			  run->fail_entry.hardware_entry_failure_reason);
		vm_request_stop(vm, VM_ERROR);
		return false;
	default:
		describe_rip(v, where, sizeof(where));
		log_error("vCPU %u: unexpected KVM exit reason %u at %s", v->id,
			  run->exit_reason, where);
		vm_request_stop(vm, VM_ERROR);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	sigset_t set;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", v->id);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, SIG_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	v->self = pthread_self();
	/* Before the first state check (seq_cst on both sides): a stop
	 * either sees this vCPU kickable or is seen by the check. */
	atomic_store((_Atomic int *)&v->kickable, 1);
	if (v->id == 0 && vm->test_delay_ms)
		usleep(vm->test_delay_ms * 1000u);
	/* MEMPLUG_TEST_FORBIDDEN_SYSCALL, a test-only hook (README): a
	 * system call the sandbox does not allow. */
	if (v->id == 0 && getenv("MEMPLUG_TEST_FORBIDDEN_SYSCALL"))
		syscall(SYS_getppid);
	while (vm_running(vm)) {
		if (vcpus_held(vm)) {
			vcpu_wait_release(vm);
			continue;
		}
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				/* Cleared before the next hold check: a hold
				 * made after it finds immediate_exit set. */
				atomic_store((_Atomic uint8_t *)&v->run->immediate_exit, 0);
				continue;
			}
			log_error("vCPU %u: KVM_RUN failed: %s", v->id,
				  strerror(errno));
			vm_request_stop(vm, VM_ERROR);
			break;
		}
		if (!vcpu_handle_exit(v))
			break;
	}
	return NULL;
}

static void kick_handler(int sig)
{
	(void)sig;
}

int vm_start(struct vm *vm)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	sigset_t set, old;
	int r;

	sigemptyset(&sa.sa_mask);
	sigaction(SIG_KICK, &sa, NULL);
	/* Threads start with SIG_KICK blocked and unblock it themselves, so
	 * a kick never hits a thread that cannot take it yet. */
	sigemptyset(&set);
	sigaddset(&set, SIG_KICK);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		r = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread,
				   &vm->vcpus[i]);
		if (r) {
			log_error("cannot start vCPU %u: %s", i, strerror(r));
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			vm_request_stop(vm, VM_ERROR);
			return -r;
		}
		vm->vcpus[i].created = true;
		if (i > 0 && vm->test_delay_ms)
			usleep(2 * vm->test_delay_ms * 1000u);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

