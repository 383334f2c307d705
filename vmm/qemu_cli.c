#include "vmm/qemu_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/size.h"
#include "vmm/keyval.h"
#include "vmm/memdev.h"

#define MAX_PAIRS 16

/* "-opt first,k=v,..." cut in place (vmm/keyval.h). Returns the number of
 * pairs or -EINVAL (more than MAX_PAIRS). */
static int split(char *s, char **first, struct keyval *kv, char *err,
		 size_t errlen, const char *opt)
{
	int n = keyval_split(s, first, kv, MAX_PAIRS);

	if (n < 0) {
		snprintf(err, errlen, "-%s: more than %d options", opt,
			 MAX_PAIRS);
		return -EINVAL;
	}
	return n;
}

static int unsupported(const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "not supported by memplug: %s", what);
	return -EINVAL;
}

static struct config_dimm *new_cold(struct config *c, const char *opt,
				    const char *spec, char *err, size_t errlen)
{
	struct config_dimm *d;

	if (c->ndimms == CONFIG_MAX_DIMMS) {
		snprintf(err, errlen, "more than %d -object, -device and --dimm "
			 "options", CONFIG_MAX_DIMMS);
		return NULL;
	}
	d = &c->dimms[c->ndimms++];
	memset(d, 0, sizeof(*d));
	d->opt = opt;
	d->spec = spec;
	if (strlen(spec) >= sizeof(d->text)) {
		snprintf(err, errlen, "%s %s: too long", opt, spec);
		return NULL;
	}
	strcpy(d->text, spec);
	return d;
}

/* -m [size=]SIZE[,slots=N][,maxmem=SIZE]: a bare first size counts MiB,
 * a bare maxmem bytes, as in QEMU. */
static int opt_m(struct config *c, struct qemu_cli *q, const char *opt,
		 char *v, char *err, size_t errlen)
{
	struct keyval kv[MAX_PAIRS];
	char *first, *spec = strdup(v);
	int n = split(v, &first, kv, err, errlen, "m"), r = 0;

	(void)q;
	(void)opt;
	if (first && size_parse(first, SIZE_MIB, &c->mem) < 0)
		r = -EINVAL;
	for (int i = 0; r == 0 && i < n; i++) {
		if (!strcmp(kv[i].key, "size") && kv[i].val)
			r = size_parse(kv[i].val, SIZE_MIB, &c->mem);
		else if (!strcmp(kv[i].key, "maxmem") && kv[i].val)
			r = size_parse(kv[i].val, SIZE_BYTES, &c->maxmem);
		else if (!strcmp(kv[i].key, "slots") && kv[i].val)
			r = uint_parse(kv[i].val, &c->slots);
		else
			r = -EINVAL;
	}
	if (n < 0)
		r = n;
	else if (r < 0)
		snprintf(err, errlen, "-m %s: expected [size=]SIZE[,slots=N]"
			 "[,maxmem=SIZE] (a bare SIZE counts MiB)", spec);
	free(spec);
	return r;
}

/* -smp N or -smp cpus=N (memplug has one socket of N cores). */
static int opt_smp(struct config *c, struct qemu_cli *q, const char *opt,
		   char *v, char *err, size_t errlen)
{
	struct keyval kv[MAX_PAIRS];
	char *first;
	int n = split(v, &first, kv, err, errlen, "smp"), r = 0;

	(void)q;
	(void)opt;
	if (n < 0)
		return n;
	if (first)
		r = uint_parse(first, &c->cpus);
	for (int i = 0; r == 0 && i < n; i++) {
		if (strcmp(kv[i].key, "cpus") || !kv[i].val)
			return unsupported("-smp topology (sockets=, cores=, "
					   "threads=, maxcpus=): memplug takes "
					   "-smp N", err, errlen);
		r = uint_parse(kv[i].val, &c->cpus);
	}
	if (r < 0 || !c->cpus) {
		snprintf(err, errlen, "-smp: need a whole number of at least 1");
		return -EINVAL;
	}
	return 0;
}

/* -object memory-backend-{ram,memfd,file},id=ID,... with QEMU's members,
 * parsed by the same parser as object-add (vmm/memdev.h). */
static int opt_object(struct config *c, struct qemu_cli *q, const char *opt,
		      char *v, char *err, size_t errlen)
{
	struct config_dimm *d = new_cold(c, "-object", v, err, errlen);
	struct keyval kv[MAX_PAIRS];
	json_t *props;
	char *type;
	int n, r;

	(void)q;
	(void)opt;
	if (!d)
		return -EINVAL;
	if ((n = split(d->text, &type, kv, err, errlen, "object")) < 0)
		return n;
	if (!type || strncmp(type, "memory-backend-", 15))
		return unsupported(d->spec, err, errlen);
	props = keyval_object(kv, n, "id");
	r = props ? memdev_parse(type, props, &d->backend, err, errlen)
		  : -ENOMEM;
	json_decref(props);
	if (r < 0) {
		/* The type and the rule, not only the member. */
		size_t l = strlen(err);

		snprintf(err + l, errlen - l, " (-object %s)", d->spec);
		return r;
	}
	/* The strings it keeps point into text, which outlives the parse. */
	d->backend.mem_path = NULL;
	for (int i = 0; i < n; i++) {
		if (!strcmp(kv[i].key, "id"))
			d->backend.id = kv[i].val;
		else if (!strcmp(kv[i].key, "mem-path"))
			d->backend.mem_path = kv[i].val;
	}
	if (!d->backend.id) {
		snprintf(err, errlen, "-object %s: id= is required", d->spec);
		return -EINVAL;
	}
	d->has_backend = true;
	return 0;
}

/* -device pc-dimm[,id=ID],memdev=ID[,node=N][,slot=N][,addr=A] */
static int opt_device(struct config *c, struct qemu_cli *q, const char *opt,
		      char *v, char *err, size_t errlen)
{
	struct config_dimm *d = new_cold(c, "-device", v, err, errlen);
	struct dimm_args *a;
	struct keyval kv[MAX_PAIRS];
	char *driver, *end;
	int n;

	(void)q;
	(void)opt;
	if (!d)
		return -EINVAL;
	a = &d->dimm;
	*a = (struct dimm_args){ .slot = -1 };
	if ((n = split(d->text, &driver, kv, err, errlen, "device")) < 0)
		return n;
	if (!driver || strcmp(driver, "pc-dimm"))
		return unsupported(d->spec, err, errlen);
	for (int i = 0; i < n; i++) {
		const char *k = kv[i].key, *val = kv[i].val ? kv[i].val : "";
		unsigned long long x;

		errno = 0;
		x = strtoull(val, &end, 0);
		if (!strcmp(k, "id") && *val)
			a->id = val;
		else if (!strcmp(k, "memdev") && *val)
			a->memdev = val;
		else if ((!strcmp(k, "node") || !strcmp(k, "slot") ||
			  !strcmp(k, "addr")) && *val && !*end && !errno &&
			 (k[0] == 'a' || x <= 0x7fffffff)) {
			if (k[0] == 'n')
				a->node = (unsigned int)x;
			else if (k[0] == 's')
				a->slot = (int)x;
			else
				a->addr = x;
		} else {
			snprintf(err, errlen, "-device %s: cannot use \"%s\"",
				 d->spec, k);
			return -EINVAL;
		}
	}
	if (!a->memdev) {
		snprintf(err, errlen, "-device %s: memdev= is required", d->spec);
		return -EINVAL;
	}
	d->has_dimm = true;
	return 0;
}

/* -numa node[,nodeid=N][,cpus=..]: memplug spreads RAM and vCPUs over
 * the nodes itself, so only their count is taken. */
static int opt_numa(struct config *c, struct qemu_cli *q, const char *opt,
		    char *v, char *err, size_t errlen)
{
	struct keyval kv[MAX_PAIRS];
	char *kind;
	unsigned int id = q->numa_nodes;
	int n = split(v, &kind, kv, err, errlen, "numa");

	(void)opt;
	if (n < 0)
		return n;
	if (!kind || strcmp(kind, "node"))
		return unsupported("-numa other than node", err, errlen);
	for (int i = 0; i < n; i++) {
		if (!strcmp(kv[i].key, "nodeid") && kv[i].val) {
			if (uint_parse(kv[i].val, &id) < 0)
				return unsupported("-numa nodeid= that is not "
						   "a number", err, errlen);
		} else if (strcmp(kv[i].key, "cpus")) {
			char what[96];

			snprintf(what, sizeof(what), "-numa node,%s= (memplug "
				 "splits boot RAM over the nodes itself)",
				 kv[i].key);
			return unsupported(what, err, errlen);
		}
	}
	if (id + 1 > q->numa_nodes)
		q->numa_nodes = id + 1;
	c->numa_nodes = q->numa_nodes;
	return 0;
}

/* unix:PATH with server (server=on, or the old "server") and without
 * waiting (wait=off, "nowait"): the QMP socket memplug serves. */
static int unix_server(const char *opt, const char *path, const struct keyval *kv,
		       int n, const char **out, char *err, size_t errlen)
{
	bool server = false, wait = true;

	for (int i = 0; i < n; i++) {
		if (!strcmp(kv[i].key, "server"))
			server = !kv[i].val || !strcmp(kv[i].val, "on");
		else if (!strcmp(kv[i].key, "nowait"))
			wait = false;
		else if (!strcmp(kv[i].key, "wait"))
			wait = kv[i].val && strcmp(kv[i].val, "off");
		else if (strcmp(kv[i].key, "id") && strcmp(kv[i].key, "path"))
			return unsupported(kv[i].key, err, errlen);
	}
	if (!path || !server || wait) {
		snprintf(err, errlen, "%s: memplug serves QMP on a Unix socket "
			 "without waiting: unix:PATH,server=on,wait=off (TCP is "
			 "not supported: the socket's 0600 mode is memplug's "
			 "only access control)", opt);
		return -EINVAL;
	}
	*out = path;
	return 0;
}

static int opt_qmp(struct config *c, struct qemu_cli *q, const char *opt,
		   char *v, char *err, size_t errlen)
{
	struct keyval kv[MAX_PAIRS];
	char *addr;
	int n = split(v, &addr, kv, err, errlen, "qmp");

	(void)q;
	(void)opt;
	if (n < 0)
		return n;
	if (!addr || strncmp(addr, "unix:", 5))
		addr = NULL;
	return unix_server("-qmp", addr ? addr + 5 : NULL, kv, n, &c->control,
			   err, errlen);
}

/* -chardev socket,id=X,path=P,server=on,wait=off, for a -mon. */
static int opt_chardev(struct config *c, struct qemu_cli *q, const char *opt,
		       char *v, char *err, size_t errlen)
{
	struct keyval kv[MAX_PAIRS];
	const char *path = NULL;
	char *backend;
	int n = split(v, &backend, kv, err, errlen, "chardev");

	(void)c;
	(void)opt;
	if (n < 0)
		return n;
	if (!backend || strcmp(backend, "socket"))
		return unsupported("-chardev other than socket", err, errlen);
	if (q->nchardevs == QEMU_CLI_CHARDEVS)
		return unsupported("more -chardev options", err, errlen);
	for (int i = 0; i < n; i++) {
		if (!strcmp(kv[i].key, "id"))
			q->chardev_id[q->nchardevs] = kv[i].val;
		else if (!strcmp(kv[i].key, "path"))
			path = kv[i].val;
	}
	if (unix_server("-chardev", path, kv, n, &q->chardev_path[q->nchardevs],
			err, errlen) < 0)
		return -EINVAL;
	q->nchardevs++;
	return 0;
}

static int opt_mon(struct config *c, struct qemu_cli *q, const char *opt,
		   char *v, char *err, size_t errlen)
{
	struct keyval kv[MAX_PAIRS];
	char *first;
	int n = split(v, &first, kv, err, errlen, "mon");
	bool control = false;

	(void)c;
	(void)opt;
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		if (!strcmp(kv[i].key, "chardev"))
			q->mon_chardev = kv[i].val;
		else if (!strcmp(kv[i].key, "mode"))
			control = kv[i].val && !strcmp(kv[i].val, "control");
	}
	if (!control)
		return unsupported("-mon other than mode=control (HMP is "
				   "human-monitor-command on the QMP socket)",
				   err, errlen);
	return 0;
}

/* Options that name what memplug always is or does. */
static int opt_fixed(struct config *c, struct qemu_cli *q, const char *opt,
		     char *v, char *err, size_t errlen)
{
	static const char *const ok[][2] = {
		{ "serial", "stdio" }, { "accel", "kvm" }, { "machine", "pc" },
		{ "M", "pc" }, { "machine", "pc,accel=kvm" },
		{ "M", "pc,accel=kvm" }, { "cpu", "host" }, { "display", "none" },
	};
	char what[160];

	(void)c;
	(void)q;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!strcmp(ok[i][0], opt) && !strcmp(ok[i][1], v))
			return 0;
	snprintf(what, sizeof(what), "-%s %s", opt, v);
	return unsupported(what, err, errlen);
}

static int opt_value(struct config *c, struct qemu_cli *q, const char *opt,
		     char *v, char *err, size_t errlen)
{
	(void)q;
	(void)err;
	(void)errlen;
	if (!strcmp(opt, "kernel"))
		c->kernel = v;
	else if (!strcmp(opt, "initrd"))
		c->initrd = v;
	else
		c->cmdline = v; /* -append */
	return 0;
}

static int opt_flag(struct config *c, struct qemu_cli *q, const char *opt,
		    char *v, char *err, size_t errlen)
{
	(void)q;
	(void)v;
	(void)err;
	(void)errlen;
	if (!strcmp(opt, "no-reboot"))
		c->no_reboot = true;
	return 0;
}

/* Every QEMU option memplug takes; flags take no value. */
static const struct qemu_opt {
	const char *name;
	bool flag;
	int (*fn)(struct config *c, struct qemu_cli *q, const char *opt,
		  char *v, char *err, size_t errlen);
} qemu_opts[] = {
	{ "m", false, opt_m }, { "smp", false, opt_smp },
	{ "object", false, opt_object }, { "device", false, opt_device },
	{ "numa", false, opt_numa }, { "qmp", false, opt_qmp },
	{ "chardev", false, opt_chardev }, { "mon", false, opt_mon },
	{ "kernel", false, opt_value }, { "initrd", false, opt_value },
	{ "append", false, opt_value },
	{ "serial", false, opt_fixed }, { "accel", false, opt_fixed },
	{ "machine", false, opt_fixed }, { "M", false, opt_fixed },
	{ "cpu", false, opt_fixed }, { "display", false, opt_fixed },
	{ "nographic", true, opt_flag }, { "enable-kvm", true, opt_flag },
	{ "nodefaults", true, opt_flag }, { "no-reboot", true, opt_flag },
};

int qemu_cli_option(struct config *c, struct qemu_cli *q, int argc,
		    char **argv, int *i, char *err, size_t errlen)
{
	const char *a = argv[*i], *opt = a + 1;
	const struct qemu_opt *o = NULL;
	char *v = NULL;

	/* memplug's own: --long, -v (-vv), -h, -V; an argument. */
	if (a[0] != '-' || a[1] == '-' || !a[1] || !a[1 + strspn(a + 1, "vhV")])
		return 0;
	for (size_t k = 0; k < sizeof(qemu_opts) / sizeof(qemu_opts[0]) && !o;
	     k++)
		if (!strcmp(qemu_opts[k].name, opt))
			o = &qemu_opts[k];
	if (!o)
		return unsupported(a, err, errlen);
	if (!o->flag) {
		if (*i + 1 >= argc) {
			snprintf(err, errlen, "%s needs a value", a);
			return -EINVAL;
		}
		v = argv[++*i];
	}
	return o->fn(c, q, opt, v, err, errlen) < 0 ? -EINVAL : 1;
}

int qemu_cli_finish(struct config *c, const struct qemu_cli *q, char *err,
		    size_t errlen)
{
	if (!q->mon_chardev)
		return 0;
	for (unsigned int i = 0; i < q->nchardevs; i++)
		if (q->chardev_id[i] && !strcmp(q->chardev_id[i], q->mon_chardev)) {
			c->control = q->chardev_path[i];
			return 0;
		}
	snprintf(err, errlen, "-mon chardev=%s: no -chardev with that id",
		 q->mon_chardev);
	return -EINVAL;
}
