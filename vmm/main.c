/* memplug: boot a Linux guest on KVM and run it until it powers off.
 * The main thread runs the event loop (console input, signals, VM stop
 * requests); each vCPU runs in its own thread. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "vmm/log.h"
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

/* stdin can feed the console when epoll can watch it (tty, pipe, socket). */
static int stdin_pollable(void)
{
	struct stat st;

	if (fstat(STDIN_FILENO, &st) < 0)
		return 0;
	return S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) ||
	       S_ISSOCK(st.st_mode);
}

/* Runs the VM until it stops; returns why. A signal wins over a reset
 * the guest asked for at the same moment: memplug was told to stop. */
static enum vm_state run_loop(struct vm *vm, int sig_fd, int *stdin_open)
{
	int killed = 0;
	struct epoll_event ev, evs[4];
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0) {
		log_error("epoll_create1: %s", strerror(errno));
		return VM_ERROR;
	}
	ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = vm->event_fd };
	epoll_ctl(ep, EPOLL_CTL_ADD, vm->event_fd, &ev);
	ev.data.fd = sig_fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sig_fd, &ev);
	if (*stdin_open) {
		ev.data.fd = STDIN_FILENO;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, STDIN_FILENO, &ev) < 0)
			*stdin_open = 0;
	}
	while (atomic_load((_Atomic int *)&vm->state) == VM_RUNNING) {
		int n = epoll_wait(ep, evs, 4, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == sig_fd) {
				struct signalfd_siginfo si;

				if (read(sig_fd, &si, sizeof(si)) == sizeof(si))
					log_info("terminating on signal %u",
						 si.ssi_signo);
				killed = 1;
				vm_request_stop(vm, VM_KILLED);
			} else if (fd == STDIN_FILENO) {
				uint8_t buf[64];
				ssize_t r = read(STDIN_FILENO, buf, sizeof(buf));

				if (r <= 0) {
					epoll_ctl(ep, EPOLL_CTL_DEL, STDIN_FILENO,
						  NULL);
					*stdin_open = 0;
				} else {
					/* The UART FIFO is small; what does not
					 * fit is dropped, as on real hardware. */
					serial_input(&vm->com1, buf, (size_t)r);
				}
			}
		}
	}
	close(ep);
	return killed ? VM_KILLED :
			(enum vm_state)atomic_load((_Atomic int *)&vm->state);
}

/* The memory layout and the host's RAM; checked before KVM is touched so
 * a bad --memory gets the same answer on every machine. */
static int plan_memory(const struct config *cfg, struct memmap *map)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	uint64_t host = (uint64_t)pages * (uint64_t)psz;
	char err[256], a[32], b[32];

	if (memmap_plan(map, cfg->mem, cfg->slots, cfg->maxmem, err,
			sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	if (pages > 0 && psz > 0 && cfg->mem > host) {
		log_error("memory size %s is more than this host's %s of RAM",
			  memmap_fmt_size(cfg->mem, a, sizeof(a)),
			  memmap_fmt_size(host & ~((1ULL << 20) - 1), b,
					  sizeof(b)));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *kvm_path = getenv("MEMPLUG_KVM_DEVICE");
	struct config cfg;
	struct memmap map;
	enum vm_state why;
	char err[256];
	sigset_t sigs;
	int kvm_fd, sig_fd, stdin_open, r;
	struct vm vm;

	r = config_parse(&cfg, argc, argv, err, sizeof(err));
	if (r == 1)
		return 0;
	if (r < 0) {
		log_error("%s", err);
		return 1;
	}
	if (cfg.verbose)
		log_level = cfg.verbose > 1 ? LOG_DEBUG : LOG_INFO;
	if (!kvm_path || !*kvm_path)
		kvm_path = KVM_DEVICE_DEFAULT;
	if (plan_memory(&cfg, &map) < 0)
		return 1;
	kvm_fd = vm_open_kvm(kvm_path);
	if (kvm_fd < 0)
		return 1;
	if (vm_check_cpus(kvm_fd, cfg.cpus) < 0)
		return 1;

	/* Signals become events on the main loop; vCPU threads inherit the
	 * blocked mask and never see them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	stdin_open = stdin_pollable();
	if (stdin_open)
		setup_terminal();

	for (;;) {
		r = vm_create(&vm, kvm_fd, &cfg, &map);
		if (r == 0)
			r = vm_start(&vm);
		if (r < 0) {
			vm_destroy(&vm);
			return 1;
		}
		why = run_loop(&vm, sig_fd, &stdin_open);
		vm_destroy(&vm);
		if (why != VM_RESET)
			break;
		log_info("restarting the guest");
	}
	close(kvm_fd);
	return why == VM_POWEROFF || why == VM_KILLED ? 0 : 1;
}
