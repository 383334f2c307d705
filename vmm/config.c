#include "vmm/config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/size.h"
#include "vmm/qemu_cli.h"
#include "vmm/sandbox.h"

#define MEMPLUG_VERSION "0.1.0"

unsigned int config_test_ms(const char *name)
{
	const char *v = getenv(name);
	unsigned long ms = v ? strtoul(v, NULL, 10) : 0;

	return ms < 10000 ? (unsigned int)ms : 10000;
}

void config_usage(FILE *f)
{
	fputs(
"usage: memplug --kernel PATH [options]\n"
"\n"
"Boot a Linux guest on KVM straight from its kernel image.\n"
"\n"
"  --kernel PATH        uncompressed ELF vmlinux (fast path) or bzImage\n"
"  --kernel-unpack on|off\n"
"                       boot a bzImage's gzip, xz, zstd or lz4 payload\n"
"                       unpacked on the host, cached by the image's hash\n"
"                       (default on; its decompressor and KASLR then do not\n"
"                       run; off runs them in the guest)\n"
"  --initrd PATH        initial ramdisk (optional)\n"
"  --cmdline STRING     kernel command line; recommended:\n"
"                       \"console=ttyS0 swiotlb=noforce memhp_default_state=online\"\n"
"  --cpus N             number of vCPUs (default 1)\n"
"  --memory SIZE[,slots=N,maxmem=SIZE]\n"
"                       boot RAM (default 256M); slots and maxmem reserve a\n"
"                       hotplug window as QEMU's -m does. Sizes take K/M/G/T\n"
"                       suffixes (powers of 1024); a bare number is bytes.\n"
"  --block-size SIZE    the guest's memory block size, in which DIMMs are\n"
"                       sized and placed (default 128M, what Linux uses on\n"
"                       x86-64 below 64G; a power of two up to 2G)\n"
"  --numa nodes=N       spread boot RAM and vCPUs over N proximity domains\n"
"                       (default 1, at most 4)\n"
"  --dimm id=ID,size=SIZE[,node=N][,backend=ram|memfd|file:PATH][,prealloc=on][,share=on][,reserve=off]\n"
"                       a DIMM plugged before boot (repeatable); the guest\n"
"                       finds it through the same ACPI devices as hot-added ones;\n"
"                       reserve=off maps it without the host's commit charge\n"
"  --control PATH       QMP control socket (mode 0600) for hotplug, see\n"
"                       memplugctl --help\n"
"  --cpuid-mask auto|pvm|none\n"
"                       hide CPU features a software KVM cannot execute:\n"
"                       auto (default) does it when the PVM KVM is loaded\n"
"  --debug-io           log guest accesses to unclaimed ports and MMIO\n"
"  --dump-acpi DIR      write the ACPI tables this configuration gives the\n"
"                       guest to DIR (RSDP.dat, DSDT.dat, SRAT.dat, ...: for\n"
"                       iasl -d) and exit, without starting a guest\n"
"  --sandbox on|off     once the VM is set up, allow only the system calls\n"
"                       memplug makes (seccomp) and drop every capability\n"
"                       (default on; off in sanitizer builds)\n"
"  -v, --verbose        more messages (repeat for debug)\n"
"  -h, --help           this help\n"
"  -V, --version        version\n"
"\n"
"QEMU's spellings work too, for a QEMU memory-hotplug command line run with\n"
"memplug in place of qemu-system-x86_64: -m SIZE[,slots=N,maxmem=SIZE] (a\n"
"bare SIZE counts MiB), -smp N, -object memory-backend-{ram,memfd,file},...,\n"
"-device pc-dimm,...,  -numa node,..., -kernel, -initrd, -append,\n"
"-qmp unix:PATH,server=on,wait=off, -chardev socket,... -mon mode=control,\n"
"-no-reboot; -nographic, -serial stdio, -enable-kvm, -accel kvm, -M pc,\n"
"-cpu host, -nodefaults and -display none are what memplug always is. Any\n"
"other QEMU option is refused as not supported.\n"
"\n"
"Environment: MEMPLUG_KVM_DEVICE=PATH uses another KVM device than /dev/kvm.\n"
"\n"
"The guest console is on stdout (input from stdin). A guest power-off ends\n"
"memplug with status 0; a guest reboot restarts it with the same\n"
"configuration. Exit status 1: bad configuration or a VM failure.\n", f);
}

/* SIZE[,slots=N][,maxmem=SIZE] */
static int parse_memory(struct config *c, const char *arg, char *err,
			size_t errlen)
{
	char buf[256], *save = NULL, *tok;
	int first = 1;

	if (strlen(arg) >= sizeof(buf)) {
		snprintf(err, errlen, "--memory value is too long");
		return -EINVAL;
	}
	strcpy(buf, arg);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save), first = 0) {
		if (first && !strchr(tok, '=')) {
			if (size_parse(tok, SIZE_BYTES, &c->mem) < 0)
				goto bad_size;
		} else if (!strncmp(tok, "slots=", 6)) {
			if (uint_parse(tok + 6, &c->slots) < 0) {
				snprintf(err, errlen, "--memory: slots=%s is not "
					 "a number", tok + 6);
				return -EINVAL;
			}
		} else if (!strncmp(tok, "maxmem=", 7)) {
			if (size_parse(tok + 7, SIZE_BYTES, &c->maxmem) < 0)
				goto bad_size;
		} else {
			snprintf(err, errlen, "--memory: unknown option \"%s\" "
				 "(expected SIZE,slots=N,maxmem=SIZE)", tok);
			return -EINVAL;
		}
		continue;
bad_size:
		snprintf(err, errlen, "--memory: \"%s\" is not a size (use a "
			 "number with an optional K, M, G or T suffix, e.g. 256M)",
			 tok);
		return -EINVAL;
	}
	return 0;
}

static int parse_on_off(const char *opt, const char *v, bool *out, char *err,
			size_t errlen)
{
	if (strcmp(v, "on") && strcmp(v, "off")) {
		snprintf(err, errlen, "%s %s: expected on or off", opt, v);
		return -EINVAL;
	}
	*out = !strcmp(v, "on");
	return 0;
}

/* --dimm id=ID,size=SIZE[,node=N][,backend=ram|memfd|file:PATH]
 *       [,prealloc=on][,share=on][,reserve=off], on a machine of nodes
 *       NUMA nodes */
static int parse_dimm(struct config_dimm *d, unsigned int nodes, char *err,
		      size_t errlen)
{
	struct backend_args *b = &d->backend;
	struct dimm_args *a = &d->dimm;
	char *save = NULL, *tok;

	*b = (struct backend_args){ .kind = BACKEND_RAM, .reserve = true };
	*a = (struct dimm_args){ .slot = -1 };
	if (strlen(d->spec) >= sizeof(d->text)) {
		snprintf(err, errlen, "--dimm %s: too long", d->spec);
		return -EINVAL;
	}
	strcpy(d->text, d->spec);
	for (tok = strtok_r(d->text, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *val = strchr(tok, '=');

		if (!val)
			goto bad;
		*val++ = 0;
		if (!strcmp(tok, "id")) {
			a->id = val;
		} else if (!strcmp(tok, "size")) {
			if (size_parse(val, SIZE_BYTES, &b->size) < 0)
				goto bad;
		} else if (!strcmp(tok, "node")) {
			/* Whether the node exists is dimm_check's. */
			if (uint_parse(val, &a->node) < 0) {
				snprintf(err, errlen, "--dimm %s: node is a "
					 "number (0 to %u)", d->spec, nodes - 1);
				return -EINVAL;
			}
		} else if (!strcmp(tok, "backend")) {
			if (!strcmp(val, "ram")) {
				b->kind = BACKEND_RAM;
			} else if (!strcmp(val, "memfd")) {
				b->kind = BACKEND_MEMFD;
				b->share = true;
			} else if (!strncmp(val, "file:", 5) && val[5]) {
				b->kind = BACKEND_FILE;
				b->mem_path = val + 5;
			} else {
				goto bad;
			}
		} else if (!strcmp(tok, "prealloc") || !strcmp(tok, "share") ||
			   !strcmp(tok, "reserve")) {
			bool on = !strcmp(val, "on");

			if (!on && strcmp(val, "off"))
				goto bad;
			if (tok[0] == 'p')
				b->prealloc = on;
			else if (tok[0] == 's')
				b->share = on;
			else
				b->reserve = on;
		} else {
			goto bad;
		}
	}
	if (!a->id || !b->size) {
		snprintf(err, errlen, "--dimm %s: id= and size= are required",
			 d->spec);
		return -EINVAL;
	}
	snprintf(d->memdev, sizeof(d->memdev), "mem-%s", a->id);
	b->id = a->memdev = d->memdev;
	d->has_backend = d->has_dimm = true;
	return 0;
bad:
	snprintf(err, errlen, "--dimm %s: cannot parse \"%s\" (expected "
		 "id=ID,size=SIZE[,node=N][,backend=ram|memfd|file:PATH]"
		 "[,prealloc=on][,share=on][,reserve=off])", d->spec, tok);
	return -EINVAL;
}

/* Whether memplug's option --name (no "=") takes the next word. */
static bool native_takes_value(const struct option *opts, const char *name)
{
	for (; opts->name; opts++)
		if (!strcmp(opts->name, name))
			return opts->has_arg == required_argument;
	return false;
}

enum { OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_CPUS, OPT_MEMORY,
       OPT_CPUID, OPT_DEBUG_IO, OPT_NUMA, OPT_DIMM, OPT_CONTROL,
       OPT_BLOCK, OPT_SANDBOX, OPT_KERNEL_UNPACK, OPT_DUMP_ACPI };

static const struct option native_opts[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "cpuid-mask", required_argument, NULL, OPT_CPUID },
	{ "numa", required_argument, NULL, OPT_NUMA },
	{ "block-size", required_argument, NULL, OPT_BLOCK },
	{ "dimm", required_argument, NULL, OPT_DIMM },
	{ "control", required_argument, NULL, OPT_CONTROL },
	{ "debug-io", no_argument, NULL, OPT_DEBUG_IO },
	{ "sandbox", required_argument, NULL, OPT_SANDBOX },
	{ "kernel-unpack", required_argument, NULL, OPT_KERNEL_UNPACK },
	{ "dump-acpi", required_argument, NULL, OPT_DUMP_ACPI },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ 0 },
};

static int parse_cpuid_mask(struct config *c, const char *v, char *err,
			    size_t errlen)
{
	if (!strcmp(v, "auto"))
		c->cpuid = CPUID_AUTO;
	else if (!strcmp(v, "pvm"))
		c->cpuid = CPUID_PVM;
	else if (!strcmp(v, "none"))
		c->cpuid = CPUID_NONE;
	else {
		snprintf(err, errlen, "--cpuid-mask %s: expected auto, pvm or "
			 "none", v);
		return -EINVAL;
	}
	return 0;
}

static int parse_numa(struct config *c, const char *v, char *err,
		      size_t errlen)
{
	if (strncmp(v, "nodes=", 6) || uint_parse(v + 6, &c->numa_nodes) < 0 ||
	    !c->numa_nodes) {
		snprintf(err, errlen, "--numa %s: expected nodes=N with N of at "
			 "least 1", v);
		return -EINVAL;
	}
	return 0;
}

/* A --dimm, kept for parse_dimm once --numa is known. */
static int add_dimm(struct config *c, const char *v, char *err, size_t errlen)
{
	if (c->ndimms == CONFIG_MAX_DIMMS) {
		snprintf(err, errlen, "more than %d --dimm options",
			 CONFIG_MAX_DIMMS);
		return -EINVAL;
	}
	c->dimms[c->ndimms].opt = "--dimm";
	c->dimms[c->ndimms++].spec = v;
	return 0;
}

/* One native option o (optarg its value) into c: 0, 1 when memplug is
 * to exit now (--help, --version), or -EINVAL with the message in err. */
static int native_option(struct config *c, int o, char **argv, char *err,
			 size_t errlen)
{
	switch (o) {
	case OPT_KERNEL: c->kernel = optarg; return 0;
	case OPT_INITRD: c->initrd = optarg; return 0;
	case OPT_CMDLINE: c->cmdline = optarg; return 0;
	case OPT_CONTROL: c->control = optarg; return 0;
	case OPT_DUMP_ACPI: c->dump_acpi = optarg; return 0;
	case OPT_DEBUG_IO: c->debug_io = true; return 0;
	case 'v': c->verbose++; return 0;
	case OPT_CPUS:
		if (uint_parse(optarg, &c->cpus) < 0 || !c->cpus) {
			snprintf(err, errlen, "--cpus %s: need a whole number "
				 "of at least 1", optarg);
			return -EINVAL;
		}
		return 0;
	case OPT_MEMORY: return parse_memory(c, optarg, err, errlen);
	case OPT_CPUID: return parse_cpuid_mask(c, optarg, err, errlen);
	case OPT_SANDBOX:
		return parse_on_off("--sandbox", optarg, &c->sandbox, err,
				    errlen);
	case OPT_KERNEL_UNPACK:
		return parse_on_off("--kernel-unpack", optarg,
				    &c->kernel_unpack, err, errlen);
	case OPT_NUMA: return parse_numa(c, optarg, err, errlen);
	case OPT_DIMM: return add_dimm(c, optarg, err, errlen);
	case OPT_BLOCK:
		if (size_parse(optarg, SIZE_BYTES, &c->block_size) < 0) {
			snprintf(err, errlen, "--block-size %s is not a size "
				 "(e.g. 128M)", optarg);
			return -EINVAL;
		}
		return 0;
	case 'h': config_usage(stdout); return 1;
	case 'V': printf("memplug " MEMPLUG_VERSION "\n"); return 1;
	case ':':
		snprintf(err, errlen, "%s needs a value", argv[optind - 1]);
		return -EINVAL;
	default:
		snprintf(err, errlen, "unknown option %s (see --help)",
			 argv[optind - 1]);
		return -EINVAL;
	}
}

/* QEMU's spellings of argv into c and q; the native options, each with
 * its value, into rest (NULL-terminated). The count of rest, or -EINVAL
 * with the message in err. */
static int split_qemu_options(struct config *c, struct qemu_cli *q, int argc,
			      char **argv, char **rest, char *err,
			      size_t errlen)
{
	int n = 0;

	for (int i = 0; i < argc; i++) {
		int r = i ? qemu_cli_option(c, q, argc, argv, &i, err, errlen)
			  : 0;

		if (r < 0)
			return -EINVAL;
		if (r)
			continue;
		if (n == CONFIG_MAX_ARGS - 1) {
			snprintf(err, errlen, "more than %d arguments",
				 CONFIG_MAX_ARGS - 2);
			return -EINVAL;
		}
		rest[n++] = argv[i];
		/* A native option's value is never taken for an option. */
		if (!strncmp(argv[i], "--", 2) && !strchr(argv[i], '=') &&
		    i + 1 < argc && native_takes_value(native_opts, argv[i] + 2))
			rest[n++] = argv[++i];
	}
	rest[n] = NULL;
	return n;
}

int config_parse(struct config *c, int argc, char **argv, char *err,
		 size_t errlen)
{
	struct qemu_cli q = { 0 };
	char *rest[CONFIG_MAX_ARGS];
	int o, r;

	*c = (struct config){ .cmdline = "console=ttyS0", .cpus = 1,
			      .mem = 256ULL << 20, .cpuid = CPUID_AUTO,
			      .sandbox = SANDBOX_DEFAULT, .kernel_unpack = true,
			      .numa_nodes = 1, .block_size = 128ULL << 20 };
	/* QEMU's spellings first; the rest goes to getopt. */
	argc = split_qemu_options(c, &q, argc, argv, rest, err, errlen);
	if (argc < 0)
		return -EINVAL;
	argv = rest;
	opterr = 0;
	optind = 0; /* glibc: 0 also resets its internal state */
	while ((o = getopt_long(argc, argv, ":vhV", native_opts, NULL)) != -1)
		if ((r = native_option(c, o, argv, err, errlen)) != 0)
			return r;
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument \"%s\" (see --help)",
			 argv[optind]);
		return -EINVAL;
	}
	if (qemu_cli_finish(c, &q, err, errlen) < 0)
		return -EINVAL;
	if (!c->kernel) {
		snprintf(err, errlen, "--kernel PATH is required (see --help)");
		return -EINVAL;
	}
	/* After the loop: a --dimm's node is checked against --numa, which
	 * may come later. */
	for (unsigned int i = 0; i < c->ndimms; i++)
		if (!strcmp(c->dimms[i].opt, "--dimm") &&
		    parse_dimm(&c->dimms[i], c->numa_nodes, err, errlen) < 0)
			return -EINVAL;
	return 0;
}
