#include "vmm/sandbox.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"

/* Every system call memplug's threads make once the VM is set up, found
 * with strace -f over the flat-guest, QMP and hardening tests and the
 * guest tests, and read off the code paths: */
static const int allowed[] = {
	/* guest console, control socket, eventfds, kernel and initrd files
	 * (read again at each guest reboot), /proc/meminfo, hugetlbfs */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(openat), SCMP_SYS(close),
	SCMP_SYS(newfstatat), SCMP_SYS(fstat), SCMP_SYS(lseek),
	SCMP_SYS(fstatfs), SCMP_SYS(access), SCMP_SYS(faccessat),
	SCMP_SYS(fcntl),
	/* file and memfd backends; mkostemp in a hugetlbfs directory */
	SCMP_SYS(memfd_create), SCMP_SYS(ftruncate), SCMP_SYS(unlink),
	SCMP_SYS(unlinkat), SCMP_SYS(getrandom),
	/* guest RAM, DIMMs, prealloc, malloc */
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect),
	SCMP_SYS(madvise), SCMP_SYS(mremap), SCMP_SYS(brk),
	/* object-add host-nodes/policy (issue 13) */
	SCMP_SYS(mbind),
	/* the event loop and the control socket (opened before) */
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(eventfd2), SCMP_SYS(timerfd_create),
	SCMP_SYS(timerfd_settime), SCMP_SYS(accept4), SCMP_SYS(sendto),
	SCMP_SYS(sendmsg), SCMP_SYS(recvfrom), SCMP_SYS(recvmsg),
	/* vCPU and prealloc threads: start, kick, hold, join, stop */
	SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(set_robust_list),
	SCMP_SYS(rseq), SCMP_SYS(futex), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(gettid), SCMP_SYS(getpid), SCMP_SYS(tgkill),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(sched_yield),
	SCMP_SYS(restart_syscall),
	/* time: timestamps, the vCPU-start test hook, sysconf at reboot */
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(sysinfo),
};

/* ioctl only with these requests: KVM's (a guest reboot creates the VM
 * again) and the terminal's (console input, restored at exit). */
static const unsigned long ioctls[] = {
	KVM_CHECK_EXTENSION, KVM_CREATE_VM, KVM_GET_VCPU_MMAP_SIZE,
	KVM_GET_SUPPORTED_CPUID, KVM_SET_TSS_ADDR, KVM_SET_IDENTITY_MAP_ADDR,
	KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2, KVM_SET_USER_MEMORY_REGION,
	KVM_CREATE_VCPU, KVM_SET_CPUID2, KVM_SET_XCRS, KVM_SET_MSRS, KVM_GET_LAPIC,
	KVM_SET_LAPIC, KVM_GET_SREGS, KVM_SET_SREGS, KVM_SET_REGS,
	KVM_GET_REGS, KVM_SET_FPU, KVM_RUN, KVM_IRQ_LINE, KVM_TRANSLATE,
	TCGETS, TCSETS,
};

/* Names for the trap message, resolved before the filter: the handler
 * may not allocate. */
#define NAMES 512
static char *names[NAMES];

static size_t put(char *buf, size_t at, size_t len, const char *s)
{
	while (*s && at + 1 < len)
		buf[at++] = *s++;
	buf[at] = 0;
	return at;
}

static size_t put_num(char *buf, size_t at, size_t len, long n)
{
	char d[24];
	int i = 0;

	if (n < 0) {
		at = put(buf, at, len, "-");
		n = -n;
	}
	do
		d[i++] = (char)('0' + n % 10);
	while ((n /= 10) && i < 23);
	while (i > 0 && at + 1 < len)
		buf[at++] = d[--i];
	buf[at] = 0;
	return at;
}

/* Async-signal-safe: writes one line and exits. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char thread[17] = "?", line[256];
	int nr = si->si_syscall;
	size_t n = 0;

	(void)sig;
	(void)uc;
	prctl(PR_GET_NAME, thread, 0, 0, 0);
	n = put(line, n, sizeof(line), "memplug: seccomp: thread ");
	n = put(line, n, sizeof(line), thread);
	n = put(line, n, sizeof(line), " made the forbidden system call ");
	n = put(line, n, sizeof(line),
		nr >= 0 && nr < NAMES && names[nr] ? names[nr] : "?");
	n = put(line, n, sizeof(line), " (");
	n = put_num(line, n, sizeof(line), nr);
	n = put(line, n, sizeof(line), "); stopping. --sandbox off allows "
		"it; please report it\n");
	if (write(STDERR_FILENO, line, n) < 0)
		_exit(1);
	_exit(1);
}

static int drop_capabilities(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	/* The bounding set first (that needs CAP_SETPCAP, dropped below);
	 * EINVAL past the last capability this kernel knows. */
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
		    errno != EINVAL && errno != EPERM)
			return -errno;
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	return 0;
}

/* Argument arg equals v (libseccomp's SCMP_An macros leave datum_b to
 * the compiler, which clang warns about). */
static struct scmp_arg_cmp arg_eq(unsigned int arg, uint64_t v)
{
	return (struct scmp_arg_cmp){ .arg = arg, .op = SCMP_CMP_EQ,
				      .datum_a = v, .datum_b = 0 };
}

static int build_filter(scmp_filter_ctx ctx)
{
	int r = 0;

	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && !r; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	for (size_t i = 0; i < sizeof(ioctls) / sizeof(ioctls[0]) && !r; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     arg_eq(1, ioctls[i]));
	/* pthread_setname_np on itself, and the trap handler. */
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				     arg_eq(0, PR_SET_NAME));
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				     arg_eq(0, PR_GET_NAME));
	/* Every thread, also those started before (none should be). */
	if (!r)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	return r;
}

int sandbox_enter(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys,
				.sa_flags = SA_SIGINFO };
	scmp_filter_ctx ctx;
	int r;

	for (int nr = 0; nr < NAMES; nr++)
		names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		r = -errno;
		log_error("sandbox: cannot handle SIGSYS: %s", strerror(-r));
		return r;
	}
	if ((r = drop_capabilities()) < 0) {
		log_error("sandbox: cannot drop capabilities: %s (--sandbox off "
			  "runs without the sandbox)", strerror(-r));
		return r;
	}
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx) {
		log_error("sandbox: libseccomp cannot start a filter");
		return -ENOMEM;
	}
	/* libseccomp sets no_new_privs before loading (SCMP_FLTATR_CTL_NNP). */
	r = build_filter(ctx);
	if (!r)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		log_error("sandbox: cannot install the seccomp filter: %s "
			  "(--sandbox off runs without it)", strerror(-r));
	return r;
}
