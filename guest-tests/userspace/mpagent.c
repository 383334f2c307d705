/* mpagent: the memplug guest agent in user space, PID 1 of the user-space
 * test guest (guest-tests/userspace/init execs it). It prints the same
 * MEMPLUG-AGENT lines as the in-kernel agent (guest-tests/agent/), read from
 * /proc and /sys, plus a block line per memory block, and takes commands on
 * the console (memplug's stdin is the guest's ttyS0). Grammar and output:
 * guest-tests/agent/README.md, "The user-space agent". */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/input.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MEMORY "/sys/devices/system/memory"
#define NODES "/sys/devices/system/node"
#define INJECT "/sys/kernel/debug/notifier-error-inject/memory/actions"
#define MAX_NODES 64
#define MAX_BLOCKS 4096
#define MAX_INPUTS 8
/* Quiet time after the last memory uevent before the state is read: one
 * hot-add or eject is a burst of add/online (or offline/remove) events, and
 * a line should describe its end, as the in-kernel agent's snapshot under
 * lock_device_hotplug() does. With 150 ms a 1G add in the nested lane gave
 * a line between its blocks' creation and their onlining. */
#define SETTLE_MS 300
#define PATTERN_SALT 0x6d656d706c756721ull

struct node_snap {
	int id;
	long memtotal_kb, blocks, online_blocks, movable_kb;
};

struct block_snap {
	long id;
	int node;
	char state[16];
	char zones[48];
};

struct snap {
	long memtotal_kb, blocks, online_blocks, movable_kb;
	int nnodes;
	struct node_snap nodes[MAX_NODES];
	struct block_snap blocks_v[MAX_BLOCKS];
};

static struct snap last, cur;
static bool opt_reboot, opt_powerbutton = true, opt_poweroff;

/* Agent lines go into the kernel log at KERN_INFO, as the in-kernel
 * agent's printk lines do: one record each, so a kernel message on the
 * console never lands inside one (written to the tty directly, a ready
 * line was cut by a clocksource message in the nested lane). */
static int kmsg = -1;

static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	memcpy(buf, "<6>", 3);
	va_start(ap, fmt);
	n = vsnprintf(buf + 3, sizeof(buf) - 4, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n += 3;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(kmsg >= 0 ? kmsg : STDOUT_FILENO, kmsg >= 0 ? buf : buf + 3,
		  (size_t)(kmsg >= 0 ? n : n - 3)) < 0)
		return;
}

static long uptime_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_BOOTTIME, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = 0;
	return 0;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		err = -errno;
	close(fd);
	return err;
}

/* Counts the ids in a sysfs list such as "0-3,5"; each id is passed to fn
 * when it is not NULL. */
static int list_count(const char *s, void (*fn)(int, void *), void *arg)
{
	int n = 0;

	while (*s) {
		char *end;
		long a = strtol(s, &end, 10), b = a;

		if (end == s)
			break;
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		for (long i = a; i <= b; i++, n++)
			if (fn)
				fn((int)i, arg);
		s = *end == ',' ? end + 1 : end;
	}
	return n;
}

static long meminfo_kb(const char *path, const char *key)
{
	char buf[8192], *p;

	if (read_file(path, buf, sizeof(buf)) < 0 || !(p = strstr(buf, key)))
		return -1;
	return strtol(p + strlen(key), NULL, 10);
}

static struct node_snap *node_of(struct snap *s, int id)
{
	for (int i = 0; i < s->nnodes; i++)
		if (s->nodes[i].id == id)
			return &s->nodes[i];
	return NULL;
}

static void add_node(int id, void *arg)
{
	struct snap *s = arg;
	char path[96];

	if (s->nnodes == MAX_NODES)
		return;
	struct node_snap *n = &s->nodes[s->nnodes++];

	n->id = id;
	snprintf(path, sizeof(path), NODES "/node%d/meminfo", id);
	n->memtotal_kb = meminfo_kb(path, "MemTotal:");
}

/* ZONE_MOVABLE's managed pages per node, from /proc/zoneinfo. */
static void read_movable(struct snap *s)
{
	FILE *f = fopen("/proc/zoneinfo", "re");
	char line[256], zone[32];
	int node = -1;
	bool movable = false;
	long pages;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Node %d, zone %31s", &node, zone) == 2) {
			movable = !strcmp(zone, "Movable");
		} else if (movable && sscanf(line, " managed %ld", &pages) == 1) {
			struct node_snap *n = node_of(s, node);

			if (n)
				n->movable_kb += pages * 4;
			s->movable_kb += pages * 4;
			movable = false;
		}
	}
	fclose(f);
}

static int cmp_block(const void *a, const void *b)
{
	long x = ((const struct block_snap *)a)->id;
	long y = ((const struct block_snap *)b)->id;

	return (x > y) - (x < y);
}

static void read_block(struct block_snap *b)
{
	char path[96], *p;
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), MEMORY "/memory%ld/state", b->id);
	if (read_file(path, b->state, sizeof(b->state)) < 0)
		strcpy(b->state, "gone");
	snprintf(path, sizeof(path), MEMORY "/memory%ld/valid_zones", b->id);
	if (read_file(path, b->zones, sizeof(b->zones)) < 0)
		strcpy(b->zones, "none");
	for (p = b->zones; *p; p++)
		if (*p == ' ')
			*p = ',';
	b->node = -1;
	snprintf(path, sizeof(path), MEMORY "/memory%ld", b->id);
	d = opendir(path);
	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, "node", 4) &&
		    e->d_name[4] >= '0' && e->d_name[4] <= '9')
			b->node = atoi(e->d_name + 4);
	if (d)
		closedir(d);
}

static void snapshot(struct snap *s)
{
	char buf[256];
	DIR *d;
	struct dirent *e;

	memset(s, 0, sizeof(*s));
	s->memtotal_kb = meminfo_kb("/proc/meminfo", "MemTotal:");
	if (read_file(NODES "/online", buf, sizeof(buf)) == 0)
		list_count(buf, add_node, s);
	read_movable(s);
	d = opendir(MEMORY);
	while (d && (e = readdir(d))) {
		struct block_snap *b;
		struct node_snap *n;

		if (strncmp(e->d_name, "memory", 6) || !e->d_name[6] ||
		    e->d_name[6] < '0' || e->d_name[6] > '9' ||
		    s->blocks == MAX_BLOCKS)
			continue;
		b = &s->blocks_v[s->blocks++];
		b->id = atol(e->d_name + 6);
		read_block(b);
		n = node_of(s, b->node);
		if (n)
			n->blocks++;
		if (!strcmp(b->state, "online")) {
			s->online_blocks++;
			if (n)
				n->online_blocks++;
		}
	}
	if (d)
		closedir(d);
	qsort(s->blocks_v, (size_t)s->blocks, sizeof(s->blocks_v[0]), cmp_block);
}

static void say_details(const struct snap *s)
{
	for (int i = 0; i < s->nnodes; i++) {
		const struct node_snap *n = &s->nodes[i];

		say("MEMPLUG-AGENT node id=%d memtotal_kb=%ld blocks=%ld "
		    "online_blocks=%ld movable_kb=%ld", n->id, n->memtotal_kb,
		    n->blocks, n->online_blocks, n->movable_kb);
	}
	for (long i = 0; i < s->blocks; i++) {
		const struct block_snap *b = &s->blocks_v[i];

		say("MEMPLUG-AGENT block id=%ld node=%d state=%s zones=%s",
		    b->id, b->node, b->state, b->zones);
	}
}

static bool snap_equal(const struct snap *a, const struct snap *b)
{
	size_t head = offsetof(struct snap, blocks_v);

	return !memcmp(a, b, head) &&
	       !memcmp(a->blocks_v, b->blocks_v,
		       (size_t)a->blocks * sizeof(a->blocks_v[0]));
}

/* A line of kind with its node and block lines: memory when anything
 * changed since the last one, status (the status command) always. */
static void report_memory(const char *kind)
{
	snapshot(&cur);
	if (!strcmp(kind, "memory") && snap_equal(&cur, &last))
		return;
	say("MEMPLUG-AGENT %s memtotal_kb=%ld blocks=%ld online_blocks=%ld "
	    "movable_kb=%ld uptime_ms=%ld", kind, cur.memtotal_kb, cur.blocks,
	    cur.online_blocks, cur.movable_kb, uptime_ms());
	say_details(&cur);
	if (!strcmp(kind, "memory"))
		last = cur;
}

static int sci_irq(void)
{
	FILE *f = fopen("/proc/interrupts", "re");
	char line[512];
	int irq = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);

		while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
			line[--n] = 0;
		if (n >= 5 && !strcmp(line + n - 5, " acpi")) {
			irq = atoi(line);
			break;
		}
	}
	fclose(f);
	return irq;
}

static void report_ready(void)
{
	char buf[256];
	int cpus = 0;

	if (read_file("/sys/devices/system/cpu/online", buf, sizeof(buf)) == 0)
		cpus = list_count(buf, NULL, NULL);
	snapshot(&last);
	say("MEMPLUG-AGENT ready uptime_ms=%ld cpus=%d memtotal_kb=%ld "
	    "blocks=%ld online_blocks=%ld sci_irq=%d acpi=%d", uptime_ms(),
	    cpus, last.memtotal_kb, last.blocks, last.online_blocks, sci_irq(),
	    access("/sys/firmware/acpi", F_OK) == 0);
	say_details(&last);
}

static void parse_cmdline(void)
{
	char buf[4096], *tok, *save;

	if (read_file("/proc/cmdline", buf, sizeof(buf)) < 0)
		return;
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (!strcmp(tok, "memplug_agent.reboot=1"))
			opt_reboot = true;
		else if (!strcmp(tok, "memplug_agent.powerbutton=0"))
			opt_powerbutton = false;
		else if (!strcmp(tok, "memplug_agent.poweroff=1"))
			opt_poweroff = true;
	}
}

static void power_off(bool reboot_instead)
{
	sync();
	reboot(reboot_instead ? RB_AUTOBOOT : RB_POWER_OFF);
	say("memplug_agent: %s failed: %s", reboot_instead ? "reboot" :
	    "power off", strerror(errno));
}

/* ---- fill and check: a child process holding a pattern in memory ---- */

static pid_t fill_pid = -1;
static int fill_cmd = -1;

static uint64_t pattern_word(const uint64_t *p)
{
	return (uint64_t)(uintptr_t)p ^ PATTERN_SALT;
}

static long block_pages(void)
{
	char buf[64];

	if (read_file(MEMORY "/block_size_bytes", buf, sizeof(buf)) < 0)
		return 0;
	return (long)(strtoull(buf, NULL, 16) / 4096);
}

/* Where the pages of [p, p+pages) are: per node (move_pages without a
 * target, which only asks) and per memory block (the PFNs of
 * /proc/self/pagemap, readable by root). */
static void report_placement(const char *kind, char *p, long pages, int node,
			     long bad)
{
	long per_node[MAX_NODES] = { 0 }, bp = block_pages(), elsewhere = 0;
	long nblk = 0, *blk_id = calloc(MAX_BLOCKS, sizeof(long));
	long *blk_pages = calloc(MAX_BLOCKS, sizeof(long));
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	enum { CHUNK = 1024 };
	void *addrs[CHUNK];
	int status[CHUNK];

	for (long i = 0; i < pages; i += CHUNK) {
		long n = pages - i < CHUNK ? pages - i : CHUNK;

		for (long j = 0; j < n; j++)
			addrs[j] = p + (i + j) * 4096;
		if (syscall(SYS_move_pages, 0, n, addrs, NULL, status, 0) < 0)
			n = 0;
		for (long j = 0; j < n; j++) {
			if (status[j] >= 0 && status[j] < MAX_NODES)
				per_node[status[j]]++;
			else
				elsewhere++;
		}
	}
	for (long i = 0; pm >= 0 && bp && blk_id && blk_pages && i < pages; i++) {
		uint64_t ent;
		long id, k;

		if (pread(pm, &ent, sizeof(ent),
			  (off_t)(((uintptr_t)p / 4096 + (uintptr_t)i) * 8)) != 8 ||
		    !(ent >> 63))
			continue;
		id = (long)((ent & ((1ull << 55) - 1)) / (uint64_t)bp);
		for (k = 0; k < nblk && blk_id[k] != id; k++)
			;
		if (k == nblk) {
			if (nblk == MAX_BLOCKS)
				continue;
			blk_id[nblk++] = id;
		}
		blk_pages[k]++;
	}
	if (pm >= 0)
		close(pm);
	for (long k = 0; k < nblk; k++)
		say("MEMPLUG-AGENT %sblock block=%ld pages=%ld", kind, blk_id[k],
		    blk_pages[k]);
	for (int n = 0; n < MAX_NODES; n++)
		if (per_node[n])
			say("MEMPLUG-AGENT %snode node=%d pages=%ld", kind, n,
			    per_node[n]);
	if (bad < 0)
		say("MEMPLUG-AGENT %s pid=%d pages=%ld node=%d on_node=%ld "
		    "unplaced=%ld error=0", kind, getpid(), pages, node,
		    node >= 0 ? per_node[node] : 0, elsewhere);
	else
		say("MEMPLUG-AGENT %s pages=%ld bad=%ld node=%d on_node=%ld "
		    "unplaced=%ld error=0", kind, pages, bad, node,
		    node >= 0 ? per_node[node] : 0, elsewhere);
	free(blk_id);
	free(blk_pages);
}

static void fill_child(long pages, int node, int cmd)
{
	size_t len = (size_t)pages * 4096;
	uint64_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char c;

	if (p == MAP_FAILED) {
		say("MEMPLUG-AGENT fill pages=%ld error=%d", pages, -errno);
		_exit(1);
	}
	if (node >= 0) {
		unsigned long mask[MAX_NODES / 64] = { 0 };

		mask[node / 64] = 1ul << (node % 64);
		/* MPOL_BIND = 2: the pages come from that node or not at all. */
		if (syscall(SYS_mbind, p, len, 2, mask, MAX_NODES + 1, 0) < 0) {
			say("MEMPLUG-AGENT fill pages=%ld node=%d error=%d",
			    pages, node, -errno);
			_exit(1);
		}
	}
	for (size_t i = 0; i < len / 8; i++)
		p[i] = pattern_word(&p[i]);
	report_placement("fill", (char *)p, pages, node, -1);
	while (read(cmd, &c, 1) == 1) {
		long bad = 0;

		for (long pg = 0; pg < pages; pg++) {
			const uint64_t *w = p + pg * 512;

			for (int i = 0; i < 512; i++)
				if (w[i] != pattern_word(&w[i])) {
					bad++;
					break;
				}
		}
		report_placement("check", (char *)p, pages, node, bad);
	}
	_exit(0);
}

static int parse_size(const char *s, long *pages)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	int shift = 0;

	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	}
	if (end == s || *end || v == 0 || v > (1ull << 40) >> shift)
		return -EINVAL;
	*pages = (long)(((v << shift) + 4095) / 4096);
	return 0;
}

static int cmd_fill(char *size, char *kw, char *node_s)
{
	long pages;
	int node = -1, pipefd[2];

	if (!size || parse_size(size, &pages) < 0)
		return -EINVAL;
	if (kw) {
		if (strcmp(kw, "node") || !node_s)
			return -EINVAL;
		node = atoi(node_s);
		if (node < 0 || node >= MAX_NODES)
			return -EINVAL;
	}
	if (fill_pid > 0)
		return -EBUSY;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	fill_pid = fork();
	if (fill_pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -errno;
	}
	if (fill_pid == 0) {
		close(pipefd[1]);
		fill_child(pages, node, pipefd[0]);
	}
	close(pipefd[0]);
	fill_cmd = pipefd[1];
	return 0;
}

static int cmd_check(void)
{
	if (fill_pid <= 0)
		return -ENOENT;
	return write(fill_cmd, "c", 1) == 1 ? 0 : -errno;
}

/* ---- sysfs commands ---- */

/* memoryN/state of the block named by id, a decimal number. */
static int block_state_path(const char *id, char *path, size_t len)
{
	char *end;
	long n;

	if (!id)
		return -EINVAL;
	n = strtol(id, &end, 10);
	if (end == id || *end || n < 0)
		return -EINVAL;
	snprintf(path, len, MEMORY "/memory%ld/state", n);
	return 0;
}

static int cmd_online(char *id, char *how)
{
	static const char *const names[][2] = {
		{ "movable", "online_movable" }, { "kernel", "online_kernel" },
		{ "online", "online" },
	};
	char path[96];

	if (!how || block_state_path(id, path, sizeof(path)) < 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(how, names[i][0]))
			return write_file(path, names[i][1]);
	return -EINVAL;
}

static int cmd_offline(char *id)
{
	char path[96];

	if (block_state_path(id, path, sizeof(path)) < 0)
		return -EINVAL;
	return write_file(path, "offline");
}

static int cmd_auto_online(char *how)
{
	static const char *const names[][2] = {
		{ "on", "online" }, { "off", "offline" },
		{ "movable", "online_movable" }, { "kernel", "online_kernel" },
	};

	for (size_t i = 0; how && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(how, names[i][0]))
			return write_file(MEMORY "/auto_online_blocks", names[i][1]);
	return -EINVAL;
}

/* finit_module of each file in /modules/inject.order, in order (what
 * modprobe would do; the builder wrote the order from modules.dep). */
static int load_inject_modules(void)
{
	char list[1024], *tok, *save, path[160];

	if (access("/sys/module/memory_notifier_error_inject", F_OK) == 0)
		return 0;
	if (read_file("/modules/inject.order", list, sizeof(list)) < 0)
		return -ENOENT;
	for (tok = strtok_r(list, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
		int fd;
		long r;

		snprintf(path, sizeof(path), "/modules/%s", tok);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		r = syscall(SYS_finit_module, fd, "", 0);
		close(fd);
		if (r < 0 && errno != EEXIST)
			return -errno;
	}
	return 0;
}

static int cmd_inject(char *action, char *err)
{
	char path[160], *end;
	long e;
	int r;

	if (!action || !err || strncmp(action, "MEM_", 4) || strchr(action, '/'))
		return -EINVAL;
	e = strtol(err, &end, 10);
	if (end == err || *end || e > 0 || e < -4095)
		return -EINVAL;
	r = load_inject_modules();
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), INJECT "/%s/error", action);
	return write_file(path, err);
}

static int cmd_sh(char *line)
{
	pid_t pid;
	int status;

	if (!line || !*line)
		return -EINVAL;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		/* The console's input is the agent's: commands, not a shell's. */
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		execl("/bin/sh", "sh", "-c", line, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? -WEXITSTATUS(status) : -EINTR;
}

static void run_command(char *line)
{
	char *save, *words[4] = { 0 }, *rest;
	int n = 0, r = -EINVAL;
	char copy[256];

	snprintf(copy, sizeof(copy), "%s", line);
	rest = strchr(copy, ' ');
	for (char *t = strtok_r(line, " \t", &save); t && n < 4;
	     t = strtok_r(NULL, " \t", &save))
		words[n++] = t;
	if (!words[0])
		return;
	if (!strcmp(words[0], "online"))
		r = cmd_online(words[1], words[2]);
	else if (!strcmp(words[0], "offline"))
		r = cmd_offline(words[1]);
	else if (!strcmp(words[0], "auto-online"))
		r = cmd_auto_online(words[1]);
	else if (!strcmp(words[0], "fill"))
		r = cmd_fill(words[1], words[2], words[3]);
	else if (!strcmp(words[0], "check"))
		r = cmd_check();
	else if (!strcmp(words[0], "inject"))
		r = cmd_inject(words[1], words[2]);
	else if (!strcmp(words[0], "status"))
		r = 0;
	else if (!strcmp(words[0], "sh"))
		r = cmd_sh(rest ? rest + 1 : NULL);
	else if (!strcmp(words[0], "poweroff") || !strcmp(words[0], "reboot"))
		power_off(!strcmp(words[0], "reboot"));
	else
		r = -ENOSYS;
	report_memory("memory");
	if (!strcmp(words[0], "status"))
		report_memory("status");
	say("MEMPLUG-AGENT done cmd=%s error=%d", words[0], r);
}

/* ---- the power button: the ACPI button driver's input device ---- */

static int open_power_buttons(int *fds)
{
	int n = 0;

	for (int i = 0; i < 32 && n < MAX_INPUTS; i++) {
		char path[32];
		unsigned long keys[KEY_MAX / (8 * sizeof(long)) + 1] = { 0 };
		int fd;

		snprintf(path, sizeof(path), "/dev/input/event%d", i);
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (ioctl(fd, EVIOCGBIT(EV_KEY, sizeof(keys)), keys) >= 0 &&
		    (keys[KEY_POWER / (8 * sizeof(long))] >>
		     (KEY_POWER % (8 * sizeof(long)))) & 1)
			fds[n++] = fd;
		else
			close(fd);
	}
	return n;
}

static bool power_pressed(int fd)
{
	struct input_event ev[16];
	ssize_t n = read(fd, ev, sizeof(ev));

	for (ssize_t i = 0; i < n / (ssize_t)sizeof(ev[0]); i++)
		if (ev[i].type == EV_KEY && ev[i].code == KEY_POWER && ev[i].value == 1)
			return true;
	return false;
}

static int open_uevents(void)
{
	struct sockaddr_nl a = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			NETLINK_KOBJECT_UEVENT);

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool memory_uevent(int fd)
{
	char buf[4096];
	bool mem = false;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = 0;
		for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
			if (!strcmp(buf + i, "SUBSYSTEM=memory") ||
			    !strcmp(buf + i, "SUBSYSTEM=node"))
				mem = true;
	}
	return mem;
}

static void console_raw(void)
{
	struct termios t;

	/* Commands are lines; their echo would land among the report lines. */
	if (tcgetattr(STDIN_FILENO, &t) == 0) {
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		t.c_iflag &= ~(tcflag_t)ICRNL;
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
	}
}

static void reap(int sfd)
{
	struct signalfd_siginfo si;
	pid_t pid;

	while (read(sfd, &si, sizeof(si)) == sizeof(si))
		;
	while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
		if (pid == fill_pid) {
			fill_pid = -1;
			close(fill_cmd);
			fill_cmd = -1;
		}
}

int main(void)
{
	struct pollfd pfd[4 + MAX_INPUTS];
	int inputs[MAX_INPUTS], ninputs, uev, tfd, sfd;
	char line[256];
	size_t len = 0;
	sigset_t set;

	/* Without "on", /dev/kmsg takes 10 lines per 5 s from user space; the
	 * sysctl takes the value only with its newline. */
	if (write_file("/proc/sys/kernel/printk_devkmsg", "on\n") == 0)
		kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	parse_cmdline();
	console_raw();
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	uev = open_uevents();
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ninputs = opt_powerbutton ? open_power_buttons(inputs) : 0;
	if (opt_powerbutton && !ninputs)
		say("memplug_agent: no input device with a power key: "
		    "the power button does nothing");
	report_ready();
	if (opt_poweroff)
		power_off(false);
	pfd[0] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = uev, .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = tfd, .events = POLLIN };
	pfd[3] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	for (int i = 0; i < ninputs; i++)
		pfd[4 + i] = (struct pollfd){ .fd = inputs[i], .events = POLLIN };
	for (;;) {
		if (poll(pfd, (nfds_t)(4 + ninputs), -1) < 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			char c;

			while (read(STDIN_FILENO, &c, 1) == 1) {
				if (c == '\r' || c == '\n') {
					line[len] = 0;
					if (len)
						run_command(line);
					len = 0;
					break;
				}
				if (len < sizeof(line) - 1)
					line[len++] = c;
			}
		}
		if ((pfd[1].revents & POLLIN) && memory_uevent(uev)) {
			struct itimerspec its = {
				.it_value = { 0, SETTLE_MS * 1000000L } };

			timerfd_settime(tfd, 0, &its, NULL);
		}
		if (pfd[2].revents & POLLIN) {
			uint64_t n;

			if (read(tfd, &n, sizeof(n)) == sizeof(n))
				report_memory("memory");
		}
		if (pfd[3].revents & POLLIN)
			reap(sfd);
		for (int i = 0; i < ninputs; i++)
			if ((pfd[4 + i].revents & POLLIN) && power_pressed(inputs[i])) {
				say("MEMPLUG-AGENT powerbutton uptime_ms=%ld reboot=%d",
				    uptime_ms(), opt_reboot);
				power_off(opt_reboot);
			}
	}
}
