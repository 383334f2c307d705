/* memplug: boot a Linux guest on KVM and run it until it powers off.
 * The main thread runs the event loop (console input, signals, the control
 * socket, VM stop requests); each vCPU runs in its own thread. */
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/size.h"
#include "vmm/acpi_cfg.h"
#include "vmm/machine.h"
#include "vmm/vm.h"

#define KVM_DEVICE_DEFAULT "/dev/kvm"

static struct termios saved_tio;
static int tio_saved;

static void restore_terminal(void)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
}

/* Console input goes to the guest byte by byte, but Ctrl-C still stops
 * memplug. */
static void setup_terminal(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return;
	tio_saved = 1;
	atexit(restore_terminal);
	t = saved_tio;
	t.c_lflag &= (tcflag_t)~(ICANON | ECHO);
	t.c_iflag &= (tcflag_t)~ICRNL;
	tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

/* The memory layout and the host's RAM; checked before KVM is touched so
 * a bad --memory gets the same answer on every machine. */
static int plan_memory(const struct config *cfg, struct memmap *map)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	uint64_t host = (uint64_t)pages * (uint64_t)psz;
	char err[256], a[32], b[32];

	if (memmap_plan_block(map, cfg->mem, cfg->slots, cfg->maxmem,
			      cfg->block_size, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	if (pages > 0 && psz > 0 && cfg->mem > host) {
		log_error("memory size %s is more than this host's %s of RAM",
			  size_fmt(cfg->mem, a, sizeof(a)),
			  size_fmt(host & ~((1ULL << 20) - 1), b, sizeof(b)));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *kvm_path = getenv("MEMPLUG_KVM_DEVICE");
	struct memmap_range ranges[MEMMAP_MAX_RANGES];
	static struct machine m;
	struct config cfg;
	struct memmap map;
	char err[1024]; /* a --dimm error quotes the spec, up to 511 bytes */
	int kvm_fd, r;

	r = config_parse(&cfg, argc, argv, err, sizeof(err));
	if (r == 1)
		return 0;
	if (r < 0) {
		log_error("%s", err);
		return 1;
	}
	if (cfg.verbose)
		log_level = cfg.verbose > 1 ? LOG_DEBUG : LOG_INFO;
	/* --debug-io asks for the unclaimed-access lines, logged as info. */
	if (cfg.debug_io && log_level < LOG_INFO)
		log_level = LOG_INFO;
	if (!kvm_path || !*kvm_path)
		kvm_path = KVM_DEVICE_DEFAULT;
	if (plan_memory(&cfg, &map) < 0)
		return 1;
	if (memmap_numa(&map, cfg.numa_nodes, ranges, MEMMAP_MAX_RANGES, err,
			sizeof(err)) < 0) {
		log_error("%s", err);
		return 1;
	}
	if (cfg.dump_acpi) {
		r = acpi_cfg_dump(&cfg, &map, cfg.dump_acpi, err, sizeof(err));
		if (r < 0)
			log_error("%s", err);
		return r < 0;
	}
	kvm_fd = vm_open_kvm(kvm_path);
	if (kvm_fd < 0)
		return 1;
	if (vm_check_cpus(kvm_fd, cfg.cpus) < 0)
		return 1;
	/* Decided once, so a guest reboot does not repeat the warning. */
	if (cfg.cpuid == CPUID_AUTO)
		cfg.cpuid = vm_kvm_is_pvm() ? CPUID_PVM : CPUID_NONE;
	if (cfg.cpuid == CPUID_PVM) {
		char extra[128];

		log_warn("hiding CPU features this KVM cannot run: CPUID and "
			 "guest command line += \"%s\" (--cpuid-mask none "
			 "turns this off)",
			 cpuid_pvm_kernel_args(extra, sizeof(extra)));
	}
	if (machine_init(&m, &cfg, &map, kvm_fd) < 0) {
		machine_fini(&m);
		return 1;
	}
	if (m.stdin_open)
		setup_terminal();
	r = machine_run(&m);
	machine_fini(&m);
	close(kvm_fd);
	return r;
}
