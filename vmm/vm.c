#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "acpi/tables.h"
#include "firmware/boot.h"
#include "include/memplug/layout.h"
#include "lib/log.h"
#include "vmm/acpi_cfg.h"
#include "vmm/hostmem.h"
#include "vmm/vcpu.h"

/* KVM memory slots: 0 and 1 boot RAM, then one per DIMM slot. */
#define VM_DIMM_KVM_SLOT0 2

bool vm_kvm_is_pvm(void)
{
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

int vm_open_kvm(const char *path)
{
	static const struct { int cap; const char *name; } caps[] = {
		{ KVM_CAP_IRQCHIP, "in-kernel irqchip" },
		{ KVM_CAP_USER_MEMORY, "user memory slots" },
		{ KVM_CAP_SET_TSS_ADDR, "TSS address" },
		{ KVM_CAP_EXT_CPUID, "CPUID" },
		{ KVM_CAP_PIT2, "in-kernel PIT" },
		{ KVM_CAP_IMMEDIATE_EXIT, "immediate exit" },
	};
	int fd, v, e;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT)
			log_error("%s does not exist: this host has no KVM. Load "
				  "the kvm_intel or kvm_amd module, or run on a "
				  "machine with virtualization", path);
		else if (e == EACCES || e == EPERM)
			log_error("no permission to open %s: run as root or "
				  "add your user to the group that owns it "
				  "(usually kvm)", path);
		else
			log_error("cannot open %s: %s", path, strerror(e));
		return -e;
	}
	v = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		log_error("%s is not a KVM device with API version %d (got %d)",
			  path, KVM_API_VERSION, v);
		close(fd);
		return -ENOTTY;
	}
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (ioctl(fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
			log_error("this KVM lacks a capability memplug needs: %s",
				  caps[i].name);
			close(fd);
			return -ENOTSUP;
		}
	}
	return fd;
}

int vm_check_cpus(int kvm_fd, unsigned int cpus)
{
	int max;

	max = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max <= 0)
		max = 4; /* what the KVM API promises without the capability */
	if (max > ACPI_CFG_MAX_CPUS)
		max = ACPI_CFG_MAX_CPUS;
	if (cpus > (unsigned int)max) {
		log_error("--cpus %u is above the limit of %d vCPUs (this KVM "
			  "and memplug's APIC numbering)", cpus, max);
		return -EINVAL;
	}
	return 0;
}

static void vm_irq_set(void *ctx, unsigned int gsi, int level)
{
	struct vm *vm = ctx;
	struct kvm_irq_level irq = { .irq = gsi, .level = (uint32_t)level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		log_error("cannot set IRQ %u to %d: %s", gsi, level,
			  strerror(errno));
}

void vm_request_stop(struct vm *vm, enum vm_state why)
{
	int expected = VM_RUNNING;
	uint64_t one = 1;

	if (!atomic_compare_exchange_strong((_Atomic int *)&vm->state,
					    &expected, (int)why))
		return;
	vcpus_kick(vm);
	/* Held vCPUs see the new state. */
	pthread_mutex_lock(&vm->hold_lock);
	pthread_cond_broadcast(&vm->hold_cond);
	pthread_mutex_unlock(&vm->hold_lock);
	if (write(vm->event_fd, &one, sizeof(one)) < 0)
		log_error("cannot signal the main loop: %s", strerror(errno));
}

static void pm_sleep(void *ctx, unsigned int slp_typ)
{
	struct vm *vm = ctx;

	if (slp_typ == ACPI_S5_SLP_TYP) {
		log_info("guest powered off (ACPI S5)");
		vm_request_stop(vm, VM_POWEROFF);
	} else {
		log_warn("guest asked for sleep type %u; only S5 (off) exists "
			 "here, ignored", slp_typ);
	}
}

static void vm_acpi_reset(void *ctx)
{
	log_info("guest reset through the ACPI reset register");
	vm_request_stop(ctx, VM_RESET);
}

static void vm_kbd_reset(void *ctx)
{
	log_info("guest reset through the keyboard controller");
	vm_request_stop(ctx, VM_RESET);
}

static int map_ram(struct vm *vm, unsigned int slot, uint64_t gpa,
		   uint64_t size)
{
	struct kvm_userspace_memory_region r;
	void *p;
	int e;

	p = hostmem_map(size, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
			HOSTMEM_ALIGN);
	if (!p) {
		log_error("cannot map %" PRIu64 " MiB of guest RAM: %s",
			  size >> 20, strerror(errno));
		return -ENOMEM;
	}
	vm->mem.r[vm->mem.n].gpa = gpa;
	vm->mem.r[vm->mem.n].size = size;
	vm->mem.r[vm->mem.n].hva = p;
	vm->mem.n++;
	r = (struct kvm_userspace_memory_region){
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)p,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		e = errno;
		log_error("KVM refused guest RAM slot %u at 0x%" PRIx64 ": %s",
			  slot, gpa, strerror(e));
		return -e;
	}
	return 0;
}

static int setup_devices(struct vm *vm, struct memhp_events memhp_ev,
			 struct irq_line console_room)
{
	struct irq_line com1_irq = { vm_irq_set, vm, IRQ_COM1 };
	struct irq_line sci = { vm_irq_set, vm, ACPI_SCI_IRQ };
	struct acpi_pm_events ev = { pm_sleep, vm_acpi_reset, vm };
	int r;

	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	vm->pio.debug = vm->mmio.debug = vm->cfg->debug_io;
	serial_init(&vm->com1, STDOUT_FILENO, com1_irq, console_room);
	acpi_pm_init(&vm->pm, sci, ev, ACPI_PM_RESET_VALUE);
	vm->kbd = (struct i8042){ vm_kbd_reset, vm };
	if ((r = bus_register(&vm->pio, PORT_COM1, PORT_COM1_LEN, &serial_ops,
			      &vm->com1, "com1")) < 0 ||
	    (r = bus_register(&vm->pio, PORT_ACPI_PM1, ACPI_PM1_BLOCK_LEN,
			      &acpi_pm_pm1_ops, &vm->pm, "acpi-pm1")) < 0 ||
	    (r = bus_register(&vm->pio, PORT_ACPI_GPE0, ACPI_GPE0_LEN,
			      &acpi_pm_gpe_ops, &vm->pm, "acpi-gpe0")) < 0 ||
	    (r = bus_register(&vm->pio, PORT_I8042_DATA, 1, &i8042_data_ops,
			      &vm->kbd, "i8042-data")) < 0 ||
	    (r = bus_register(&vm->pio, PORT_I8042_CMD, 1, &i8042_cmd_ops,
			      &vm->kbd, "i8042-cmd")) < 0)
		return r;
	if (!vm->map.slots)
		return 0;
	if ((r = memhp_init(&vm->memhp, vm->map.slots, memhp_ev,
			      (struct irq_line){ acpi_pm_gpe_line, &vm->pm,
						 GPE_MEMHP })) < 0) {
		log_error("cannot set up the memory hotplug controller with %u "
			  "slots: %s", vm->map.slots, strerror(-r));
		return r;
	}
	return bus_register(&vm->pio, PORT_MEMHP, MEMHP_REGS_LEN, &memhp_ops,
			    &vm->memhp, "memhp");
}

int vm_set_dimm_memory(struct vm *vm, unsigned int n, uint64_t gpa,
		       uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = VM_DIMM_KVM_SLOT0 + n, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = (uint64_t)(uintptr_t)hva,
	};
	int e = 0;

	vcpus_hold(vm);
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		e = errno;
	vcpus_release(vm);
	if (e) {
		log_error("KVM refused %s memory slot %u at 0x%" PRIx64 ": %s",
			  size ? "to install" : "to remove", r.slot, gpa,
			  strerror(e));
		return -e;
	}
	return 0;
}

static int setup_acpi(struct vm *vm, uint64_t *rsdp)
{
	uint64_t room = LAYOUT_ACPI_END - LAYOUT_ACPI;
	uint8_t *dst = guest_ptr(&vm->mem, LAYOUT_ACPI, room);
	struct acpi_config ac;
	struct acpi_layout l;
	char msg[256];
	int r;

	if (!dst) {
		log_error("the ACPI area 0x%llx-0x%llx is not in guest RAM",
			  LAYOUT_ACPI, LAYOUT_ACPI_END);
		return -EFAULT;
	}
	r = acpi_cfg_build(vm->cfg, &vm->map, &ac, msg, sizeof(msg));
	if (r < 0) {
		log_error("%s", msg);
		return r;
	}
	r = acpi_build(&ac, LAYOUT_ACPI, dst, room, &l, msg, sizeof(msg));
	if (r < 0) {
		log_error("cannot build the ACPI tables: %s", msg);
		return r;
	}
	*rsdp = l.rsdp;
	return 0;
}

static int setup_boot(struct vm *vm, struct boot_kernel *k)
{
	const struct config *c = vm->cfg;
	struct boot_args a = { .cmdline = c->cmdline };
	struct e820_entry e820[8];
	char err[256], extra[128];
	int r;

	r = boot_load_kernel_fd(vm->kernel->fd, &vm->mem, vm->map.low_size, k,
				err, sizeof(err));
	if (r < 0) {
		log_error("kernel %s%s %s", vm->kernel->path,
			  vm->kernel->unpacked ? " (its unpacked vmlinux)" : "",
			  err);
		return r;
	}
	if (c->initrd) {
		r = boot_load_initrd(c->initrd, &vm->mem, vm->map.low_size, k,
				     &a.initrd_gpa, &a.initrd_size, err,
				     sizeof(err));
		if (r < 0) {
			log_error("initrd %s %s", c->initrd, err);
			return r;
		}
	}
	if ((r = setup_acpi(vm, &a.rsdp_gpa)) < 0)
		return r;
	if (vm->hide_pvm) {
		cpuid_pvm_kernel_args(extra, sizeof(extra));
		if (asprintf(&vm->cmdline, "%s %s", c->cmdline, extra) < 0) {
			log_error("no memory for the guest command line");
			return -ENOMEM;
		}
		a.cmdline = vm->cmdline;
	}
	a.e820 = e820;
	a.e820_n = memmap_e820(&vm->map, e820, sizeof(e820) / sizeof(e820[0]));
	r = boot_write_params(&vm->mem, k, &a, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		return r;
	}
	r = cpu_write_boot_tables(&vm->mem);
	if (r < 0)
		log_error("cannot write the boot GDT and page tables: %s",
			  strerror(-r));
	return r;
}

static int get_supported_cpuid(int kvm_fd, union cpuid_table *t)
{
	memset(t, 0, sizeof(*t));
	t->h.nent = CPUID_MAX_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, &t->h) < 0) {
		int e = errno;

		log_error("KVM_GET_SUPPORTED_CPUID: %s", strerror(e));
		return -e;
	}
	return 0;
}

/* KVM's x86 set-up of the VM: TSS, identity map, irqchip and PIT. */
static int create_chips(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = 0 };
	uint64_t identity = LAYOUT_KVM_IDENTITY;
	int r;

	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, LAYOUT_KVM_TSS) < 0) {
		r = -errno;
		log_error("KVM_SET_TSS_ADDR: %s", strerror(-r));
		return r;
	}
	/* Only VMX needs the identity-map page; others may refuse it. */
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0)
		log_debug("KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		r = -errno;
		log_error("cannot create the in-kernel irqchip: %s",
			  strerror(-r));
		return r;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		r = -errno;
		log_error("cannot create the in-kernel PIT: %s", strerror(-r));
		return r;
	}
	return 0;
}

/* The vCPUs, each with its CPUID, to start at entry. */
static int create_vcpus(struct vm *vm, uint64_t entry)
{
	int run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	union cpuid_table *supported;
	int r;

	if (run_size < (int)sizeof(struct kvm_run)) {
		log_error("KVM_GET_VCPU_MMAP_SIZE gave %d, less than the %zu "
			  "bytes of struct kvm_run", run_size,
			  sizeof(struct kvm_run));
		return -EINVAL;
	}
	vm->vcpus = calloc(vm->nvcpus, sizeof(*vm->vcpus));
	supported = malloc(sizeof(*supported));
	if (!vm->vcpus || !supported) {
		free(supported);
		log_error("no memory for %u vCPUs", vm->nvcpus);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		vm->vcpus[i].id = i;
		vm->vcpus[i].fd = -1;
		vm->vcpus[i].run_size = (size_t)run_size;
	}
	r = get_supported_cpuid(vm->kvm_fd, supported);
	/* Without it the guest programs its LAPIC timer through the xAPIC
	 * page: on the nested kvm_amd each of those writes was a nested page
	 * fault that KVM decoded and emulated, 26 per 1G hot-add against
	 * QEMU's 10 (QEMU offers the timer); with it 10 and 10, the rest
	 * WRMSR exits (bench/realkvm.md). */
	if (r == 0 && ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
			    KVM_CAP_TSC_DEADLINE_TIMER) > 0)
		cpuid_add_tsc_deadline(supported);
	for (unsigned int i = 0; r == 0 && i < vm->nvcpus; i++)
		r = vcpu_setup(vm, &vm->vcpus[i], supported, entry);
	free(supported);
	return r;
}

int vm_create(struct vm *vm, int kvm_fd, const struct config *cfg,
	      const struct kernel_image *kernel, const struct memmap *map,
	      struct memhp_events memhp_ev, struct irq_line console_room)
{
	struct boot_kernel k;
	int r;

	memset(vm, 0, sizeof(*vm));
	pthread_mutex_init(&vm->hold_lock, NULL);
	pthread_cond_init(&vm->hold_cond, NULL);
	vm->cfg = cfg;
	vm->kernel = kernel;
	vm->kvm_fd = kvm_fd;
	vm->map = *map;
	vm->nvcpus = cfg->cpus;
	cpu_topology_init(&vm->topo, cfg->cpus, cfg->numa_nodes);
	vm->hide_pvm = cfg->cpuid == CPUID_PVM ||
		       (cfg->cpuid == CPUID_AUTO && vm_kvm_is_pvm());
	vm->state = VM_RUNNING;
	vm->test_delay_ms = config_test_ms("MEMPLUG_TEST_VCPU_DELAY_MS");
	vm->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm->event_fd < 0 || vm->vm_fd < 0) {
		r = -errno;
		log_error("cannot create the VM: %s", strerror(errno));
		return r;
	}
	/* Boot RAM first: on a VM that already has an irqchip and a PIT, the
	 * first memory slot waited 4-11 ms here for an SRCU grace period, on
	 * an empty VM 0.1 ms (bench/README.md, first guest byte). */
	if ((r = map_ram(vm, 0, 0, map->low_size)) < 0)
		return r;
	if (map->high_size && (r = map_ram(vm, 1, LAYOUT_4G, map->high_size)) < 0)
		return r;
	if ((r = create_chips(vm)) < 0 ||
	    (r = setup_devices(vm, memhp_ev, console_room)) < 0 ||
	    (r = setup_boot(vm, &k)) < 0)
		return r;
	return create_vcpus(vm, k.entry);
}

void vm_destroy(struct vm *vm)
{
	vm_request_stop(vm, VM_KILLED);
	for (unsigned int i = 0; vm->vcpus && i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (v->created)
			pthread_join(v->thread, NULL);
		if (v->run)
			munmap(v->run, v->run_size);
		if (v->fd >= 0)
			close(v->fd);
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
	free(vm->cmdline);
	vm->cmdline = NULL;
	for (unsigned int i = 0; i < vm->mem.n; i++)
		munmap(vm->mem.r[i].hva, vm->mem.r[i].size);
	vm->mem.n = 0;
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->event_fd >= 0)
		close(vm->event_fd);
	vm->vm_fd = vm->event_fd = -1;
	pthread_cond_destroy(&vm->hold_cond);
	pthread_mutex_destroy(&vm->hold_lock);
}
