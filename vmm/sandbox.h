/* The sandbox memplug enters once the VM is set up (--sandbox on, the
 * default): every capability dropped, no new privileges, and a seccomp
 * allow-list of the system calls its threads make from then on, guest
 * reboots, hot-add, prealloc, file backends and the control socket
 * included. Any other system call traps: memplug names it and the thread
 * that made it, and exits. A feature that makes a new system call adds it
 * to the list in sandbox.c and tests its path with the filter on. */
#ifndef MEMPLUG_VMM_SANDBOX_H
#define MEMPLUG_VMM_SANDBOX_H

/* Sanitizer runtimes make system calls of their own for their reports:
 * their builds default to --sandbox off. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANDBOX_DEFAULT false
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANDBOX_DEFAULT false
#endif
#endif
#ifndef SANDBOX_DEFAULT
#define SANDBOX_DEFAULT true
#endif

/* Drops the capabilities and installs the filter for every thread of the
 * process, now and later. Call it once, before the first vCPU runs (a
 * second filter would stack on the first). Returns 0 or -errno, with the
 * message logged. */
int sandbox_enter(void);

#endif
