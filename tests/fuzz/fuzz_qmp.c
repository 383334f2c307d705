/* libFuzzer target: the control socket and the command handlers, in
 * process, on a real KVM VM (vCPUs never run).
 *
 * An input is segments separated by 0xff bytes. Even segments are bytes a
 * client sends on a fresh connection (greeting read, nothing negotiated);
 * odd segments are guest accesses to the hotplug controller and the ACPI
 * blocks, dispatched on the VM's real port bus, so the guest's side of a
 * hot-add or an eject (its scan, _OST, _EJ0) meets the commands. Each
 * input starts from the same state: after it, every DIMM and backend is
 * removed and the devices are reset.
 *
 * Checked on every input: each line memplug sends is a JSON object that is
 * a greeting, a reply or an event; the DIMM table, its backends and the
 * controller agree. A violation aborts, so libFuzzer keeps the input.
 *
 * Confinement: file backends may name any path, and memplug (rightly)
 * creates a missing file. The fuzzer runs in a private mount namespace
 * where every mount is read-only except a tmpfs on /tmp/memplug-fuzz and the working
 * directory (its corpus and crash files), so nothing outside them can be
 * created or changed. That needs root; the fuzzer says so otherwise.
 *
 * One fake: madvise(MADV_POPULATE_WRITE) succeeds without populating
 * (linked with --wrap=madvise). Inputs ask for gigabytes of prealloc; the
 * worker thread, its eventfd and the deferred reply all stay real.
 *
 * Faults: an input that starts with 0xfb and two bytes N (little-endian)
 * fails the Nth allocation memplug's main thread makes for it (malloc,
 * calloc, realloc, strdup and jansson's), or its accept4 or
 * timerfd_create, with ENOMEM; the rest of the input runs after it. The
 * worker threads' allocations are left alone, so the count is the same on
 * every run of the input. Memplug may drop the client or refuse the
 * command; the invariants must hold all the same. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "include/memplug/layout.h"
#include "vmm/hotplug.h"
#include "vmm/machine.h"

/* The private tmpfs: file backends' playground and the control socket. */
#define FUZZ_DIR "/tmp/memplug-fuzz"
#define SOCK FUZZ_DIR "/qmp.sock"

int __real_madvise(void *addr, size_t len, int advice);
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
int __real_accept4(int fd, struct sockaddr *a, socklen_t *len, int flags);
int __real_timerfd_create(int clock, int flags);

static pthread_t main_thread;
static bool armed;              /* memplug's code is running for the input */
static unsigned long fault_at;  /* the failing call's number, 0 = none */
static unsigned long calls;

/* Whether this call fails (ENOMEM set). */
static bool fault(void)
{
	if (!armed || !fault_at || !pthread_equal(pthread_self(), main_thread) ||
	    ++calls != fault_at)
		return false;
	errno = ENOMEM;
	return true;
}

void *__wrap_malloc(size_t n)
{
	return fault() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fault() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return fault() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	return fault() ? NULL : __real_strdup(s);
}

int __wrap_accept4(int fd, struct sockaddr *a, socklen_t *len, int flags)
{
	return fault() ? -1 : __real_accept4(fd, a, len, flags);
}

int __wrap_timerfd_create(int clock, int flags)
{
	return fault() ? -1 : __real_timerfd_create(clock, flags);
}

/* jansson's allocations, made inside its shared library. Not while it
 * reads or writes JSON text: under a failed allocation jansson 2.14's
 * lexer writes through the NULL (a SEGV in json_loadb) and json_dumps
 * leaves out an object key and goes on ('{"error":{":"GenericError",...'),
 * both found here and both jansson's, which no caller can guard against.
 * Building values (json_object, json_pack, ...) may fail. */
static bool in_text;

static void *json_alloc(size_t n)
{
	return !in_text && fault() ? NULL : __real_malloc(n);
}

json_t *__real_json_loadb(const char *buf, size_t len, size_t flags,
			  json_error_t *error);
char *__real_json_dumps(const json_t *json, size_t flags);

json_t *__wrap_json_loadb(const char *buf, size_t len, size_t flags,
			  json_error_t *error)
{
	json_t *j;

	in_text = true;
	j = __real_json_loadb(buf, len, flags, error);
	in_text = false;
	return j;
}

char *__wrap_json_dumps(const json_t *json, size_t flags)
{
	char *text;

	in_text = true;
	text = __real_json_dumps(json, flags);
	in_text = false;
	return text;
}

int __wrap_madvise(void *addr, size_t len, int advice)
{
	if (advice == 23 /* MADV_POPULATE_WRITE */)
		return 0;
	return __real_madvise(addr, len, advice);
}

static struct machine m;
static struct config cfg;
static struct memmap map;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_qmp: %s\n", what);
	exit(1);
}

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_qmp: invariant broken: %s\n", what);
		abort();
	}
}

/* Every mount read-only but FUZZ_DIR (a fresh tmpfs) and the working
 * directory; then a file created at / must fail. */
static void confine(void)
{
	char cwd[4096], line[8192];
	FILE *f;
	int fd;

	if (geteuid() != 0)
		die("needs root: it confines file backends to " FUZZ_DIR
		    " in a private mount namespace (run it with sudo)");
	if (!getcwd(cwd, sizeof(cwd)))
		die("cannot read the working directory");
	if (!strncmp(cwd, FUZZ_DIR, strlen(FUZZ_DIR)))
		die("run it from a directory outside " FUZZ_DIR ": it becomes a "
		    "private tmpfs");
	if (mkdir(FUZZ_DIR, 0700) < 0 && errno != EEXIST)
		die("cannot create " FUZZ_DIR);
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("cannot make a private mount namespace");
	if (mount("fuzz", FUZZ_DIR, "tmpfs", 0, "size=64m") < 0 ||
	    mount(cwd, cwd, NULL, MS_BIND, NULL) < 0 ||
	    chdir(cwd) < 0 /* into the new mount, off the one below it */)
		die("cannot mount " FUZZ_DIR " or the working directory "
		    "read-write");
	f = fopen("/proc/self/mountinfo", "r");
	if (!f)
		die("cannot read /proc/self/mountinfo");
	while (fgets(line, sizeof(line), f)) {
		char mp[4096];

		/* id parent major:minor root mountpoint ... */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 &&
		    strcmp(mp, FUZZ_DIR) && strcmp(mp, cwd))
			mount(NULL, mp, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY,
			      NULL);
	}
	fclose(f);
	fd = open("/fuzz-qmp-probe", O_CREAT | O_EXCL | O_WRONLY, 0600);
	if (fd >= 0 || errno != EROFS)
		die("/ is still writable: refusing to run unconfined");
	fd = open(".fuzz-qmp-probe", O_CREAT | O_WRONLY, 0600);
	if (fd < 0 || close(fd) < 0 || unlink(".fuzz-qmp-probe") < 0)
		die("the working directory is not writable: corpus and crash "
		    "files would be lost");
}

static void init(void)
{
	static char *argv[] = {
		"memplug", "--kernel", NULL, "--memory",
		"256M,slots=4,maxmem=1G", "--numa", "nodes=2", "--cpus", "2",
		"--control", SOCK, "--sandbox", "off", NULL,
	};
	const char *kernel = getenv("FUZZ_QMP_KERNEL");
	struct memmap_range ranges[MEMMAP_MAX_RANGES];
	char err[256];
	sigset_t sigs;
	int kvm;

	main_thread = pthread_self();
	json_set_alloc_funcs(json_alloc, free);
	argv[2] = (char *)(kernel ? kernel : "build/tests/guests/idle.elf");
	if (access(argv[2], R_OK) < 0)
		die("no test guest (make guests, or set FUZZ_QMP_KERNEL)");
	confine();
	log_level = LOG_ERROR;
	if (config_parse(&cfg, 13, argv, err, sizeof(err)) != 0 ||
	    memmap_plan_block(&map, cfg.mem, cfg.slots, cfg.maxmem,
			      cfg.block_size, err, sizeof(err)) < 0 ||
	    memmap_numa(&map, cfg.numa_nodes, ranges, MEMMAP_MAX_RANGES, err,
			sizeof(err)) < 0)
		die(err);
	kvm = vm_open_kvm("/dev/kvm");
	if (kvm < 0)
		die("no KVM: /dev/kvm cannot be opened");
	cfg.cpuid = vm_kvm_is_pvm() ? CPUID_PVM : CPUID_NONE;
	if (machine_init(&m, &cfg, &map, kvm) < 0)
		die("machine_init failed");
	/* machine_init turns these into events of its loop; Ctrl-C must
	 * reach libFuzzer instead. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
	if (vm_create(&m.vm, kvm, &cfg, &m.kernel, &m.map,
		      hotplug_events(&m), (struct irq_line){ 0 }) < 0)
		die("vm_create failed");
	m.vm_live = true;
}

/* One line from memplug: a greeting, a reply or an event. */
static void check_line(const char *line, size_t len)
{
	bool was = armed;
	json_t *j, *e;

	armed = false; /* the checker's own parsing never fails */
	j = json_loadb(line, len, 0, NULL);
	if (!j || !json_is_object(j))
		fprintf(stderr, "fuzz_qmp: the line: %.*s\n", (int)len, line);
	check(j && json_is_object(j), "memplug sent a line that is not a "
	      "JSON object");
	if ((e = json_object_get(j, "event")))
		check(json_is_string(e) && json_is_object(json_object_get(j, "data")),
		      "an event without a name or data");
	else if (!json_object_get(j, "QMP") && !json_object_get(j, "return"))
		check((e = json_object_get(j, "error")) &&
		      json_is_string(json_object_get(e, "class")) &&
		      json_is_string(json_object_get(e, "desc")),
		      "a line that is neither greeting, return, error nor event");
	json_decref(j);
	armed = was;
}

struct conn {
	int fd;
	char buf[1 << 16];
	size_t len;
	bool closed;
};

/* Reads what memplug sent and checks each line. */
static void drain(struct conn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len,
				 MSG_DONTWAIT);
		char *nl;

		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			c->closed = true;
			return;
		}
		c->len += (size_t)n;
		while ((nl = memchr(c->buf, '\n', c->len))) {
			size_t l = (size_t)(nl - c->buf) + 1;

			check_line(c->buf, l);
			memmove(c->buf, c->buf + l, c->len - l);
			c->len -= l;
		}
		check(c->len < sizeof(c->buf), "a line longer than 64 KiB");
	}
}

/* memplug's end of this input's connection, or NULL once it closed it. */
static struct qmp_client *server_side(void)
{
	for (int i = 0; i < QMP_MAX_CLIENTS; i++)
		if (m.qmp.clients[i])
			return m.qmp.clients[i];
	return NULL;
}

static int clients(void)
{
	int n = 0;

	for (int i = 0; i < QMP_MAX_CLIENTS; i++)
		n += m.qmp.clients[i] != NULL;
	return n;
}

/* Other clients connect until one is refused (the table is full), then
 * all of them hang up; the input's client, if memplug kept it, stays. */
static void fill_clients(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX, .sun_path = SOCK };
	int before = clients(), fds[QMP_MAX_CLIENTS + 1], n = 0;
	bool refused = false;

	while (!refused && n <= QMP_MAX_CLIENTS - before) {
		int had = clients();
		char b;

		fds[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[n] < 0 ||
		    connect(fds[n++], (struct sockaddr *)&a, sizeof(a)) < 0)
			die("cannot connect another client");
		/* Accepted into the table, or refused with a line and closed
		 * (or dropped: a failed allocation). */
		while (clients() == had &&
		       recv(fds[n - 1], &b, 1, MSG_PEEK | MSG_DONTWAIT) < 0)
			loop_run_once(&m.loop);
		refused = clients() == had;
	}
	check(refused, "a client past a full table was not refused");
	for (int i = 0; i < n; i++)
		close(fds[i]);
	while (clients() > before)
		loop_run_once(&m.loop);
}

/* Sends a client segment and runs the loop until memplug has read all of
 * it and answered what it could: nothing waits in its socket and no reply
 * is deferred (a value left unfinished just waits, as in QEMU). After the
 * input's last segment the client hangs up without waiting for a deferred
 * reply. A segment that starts with 0xfe is followed by 1.25 times
 * QMP_LINE_MAX of 'x', a value over the length limit; one that starts
 * with 0xfd is sent by a client that reads nothing meanwhile (memplug's
 * socket buffers are made small, so its replies wait in its own output
 * buffer); one that starts with 0xfc is sent after the client table was
 * filled and emptied again. */
static void client_segment(struct conn *c, const uint8_t *p, size_t n,
			   bool last)
{
	bool reading = true;

	static char pad[QMP_LINE_MAX + QMP_LINE_MAX / 4];
	struct { const void *p; size_t n; } part[2] = { { p, n }, { pad, 0 } };
	unsigned int i = 0;

	if (!pad[0])
		memset(pad, 'x', sizeof(pad));
	if (n && p[0] == 0xfc)
		fill_clients();
	if (n && (p[0] == 0xfe || p[0] == 0xfd || p[0] == 0xfc)) {
		part[0].p = p + 1;
		part[0].n = n - 1;
		part[1].n = p[0] == 0xfe ? sizeof(pad) : 0;
		reading = p[0] != 0xfd;
	}
	for (;;) {
		struct qmp_client *sc = server_side();
		int queued = 0;

		while (i < 2 && !part[i].n)
			i++;
		if (i < 2) {
			ssize_t w = send(c->fd, part[i].p, part[i].n,
					 MSG_DONTWAIT | MSG_NOSIGNAL);

			if (w > 0) {
				part[i].p = (const char *)part[i].p + w;
				part[i].n -= (size_t)w;
			}
		}
		if (!sc || ioctl(sc->w.fd, FIONREAD, &queued) < 0)
			break;
		/* Room in the client's buffer first: memplug may be waiting
		 * for it (EPOLLOUT), with nothing else to wake the loop. */
		if (reading)
			drain(c);
		if (i == 2 && !queued && (!sc->waiting || last) &&
		    (!sc->want_out || !reading))
			break;
		loop_run_once(&m.loop);
	}
	drain(c);
}

static const uint16_t guest_ports[] = { PORT_MEMHP, PORT_ACPI_GPE0,
					PORT_ACPI_PM1 };

/* Guest accesses, 6 bytes each: port and direction, offset, size, value. */
static void guest_segment(const uint8_t *p, size_t n)
{
	for (; n >= 6; p += 6, n -= 6) {
		/* Port I/O is 1, 2 or 4 bytes wide. */
		static const unsigned int sizes[] = { 1, 2, 4, 1 };
		uint8_t data[8];
		uint16_t port = (uint16_t)(guest_ports[(p[0] & 0x7f) % 3] +
					   (p[1] & 0x3f));

		bus_put(data, 4, (uint32_t)p[2] | (uint32_t)p[3] << 8 |
			(uint32_t)p[4] << 16 | (uint32_t)p[5] << 24);
		bus_put(data + 4, 4, 0);
		bus_access(&m.vm.pio, port, data, sizes[(p[1] >> 6) & 3],
			   p[0] & 0x80);
	}
	/* Events the callbacks queued go out now, as after a vCPU exit (the
	 * wake-up makes the loop run even if none was queued). */
	if (write(m.notify_fd, &(uint64_t){ 1 }, sizeof(uint64_t)) < 0)
		die("cannot wake the event loop");
	loop_run_once(&m.loop);
}

/* The DIMM table, its backends and the controller agree. */
static void check_state(void)
{
	for (unsigned int s = 0; s < m.map.slots; s++) {
		const struct dimm *d = &m.dimms.slots[s];
		struct memhp_slot hs;

		memhp_get(&m.vm.memhp, s, &hs);
		check(hs.enabled == (d->state != DIMM_EMPTY),
		      "a DIMM slot and the controller disagree on presence");
		if (d->state == DIMM_EMPTY)
			continue;
		check(d->backend >= 0 && d->backend < DIMM_MAX_BACKENDS &&
		      m.dimms.backends[d->backend].used &&
		      m.dimms.backends[d->backend].dimm == (int)s,
		      "a DIMM whose backend does not point back at it");
		check(hs.base == d->addr && hs.size == d->size,
		      "the controller reports another range than the DIMM's");
	}
	for (int b = 0; b < DIMM_MAX_BACKENDS; b++) {
		const struct backend *be = &m.dimms.backends[b];

		if (!be->used || be->dimm < 0)
			continue;
		check(be->dimm < (int)m.map.slots &&
		      m.dimms.slots[be->dimm].state != DIMM_EMPTY &&
		      m.dimms.slots[be->dimm].backend == b,
		      "a backend used by an empty or other slot");
	}
}

/* Back to the state after init: no prealloc running, no DIMM, no backend,
 * controller and ACPI registers reset, the VM running. */
static void reset(void)
{
	struct memhp_events ev;
	struct irq_line line;
	uint64_t n;

	while (m.prealloc.jobs)
		loop_run_once(&m.loop);
	for (unsigned int s = 0; s < m.map.slots; s++) {
		struct dimm *d = &m.dimms.slots[s];

		if (d->state == DIMM_EMPTY)
			continue;
		check(vm_set_dimm_memory(&m.vm, s, d->addr, 0,
					 m.dimms.backends[d->backend].hva) == 0,
		      "KVM refused to remove a DIMM's memory slot");
		memhp_clear(&m.vm.memhp, s);
	}
	for (int b = 0; b < DIMM_MAX_BACKENDS; b++)
		if (m.dimms.backends[b].used && m.dimms.backends[b].created)
			unlink(m.dimms.backends[b].mem_path);
	dimms_free(&m.dimms);
	dimms_init(&m.dimms, &m.map, cfg.numa_nodes, m.map.block);
	ev = m.vm.memhp.ev;
	line = m.vm.memhp.event;
	pthread_mutex_destroy(&m.vm.memhp.lock);
	memhp_init(&m.vm.memhp, m.map.slots, ev, line);
	acpi_pm_reset(&m.vm.pm);
	atomic_store((_Atomic int *)&m.vm.state, VM_RUNNING);
	while (read(m.vm.event_fd, &n, sizeof(n)) > 0)
		;
	m.quit = false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX, .sun_path = SOCK };
	static struct conn c;
	bool client = true;

	c.len = 0;
	c.closed = false;
	c.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c.fd < 0 || connect(c.fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("cannot connect to the control socket");
	calls = fault_at = 0;
	if (size >= 3 && data[0] == 0xfb) {
		fault_at = (unsigned long)(data[1] | data[2] << 8) + 1;
		data += 3;
		size -= 3;
	}
	while (!server_side())
		loop_run_once(&m.loop); /* the accept */
	/* Small buffers both ways: a client that stops reading fills them
	 * with a few replies. */
	setsockopt(server_side()->w.fd, SOL_SOCKET, SO_SNDBUF, &(int){ 4096 },
		   sizeof(int));
	setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &(int){ 4096 }, sizeof(int));
	armed = true;
	while (size || client) {
		const uint8_t *end = memchr(data, 0xff, size);
		size_t n = end ? (size_t)(end - data) : size;

		if (client)
			client_segment(&c, data, n, !end);
		else
			guest_segment(data, n);
		check_state();
		data += n + (end != NULL);
		size -= n + (end != NULL);
		client = !client;
		if (!end)
			break;
	}
	armed = false;
	close(c.fd);
	/* memplug sees the hangup and frees the client. */
	while (server_side())
		loop_run_once(&m.loop);
	reset();
	return 0;
}
