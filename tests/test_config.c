#include <stdarg.h>
#include "tests/unit.h"
#include "vmm/config.h"

static int parse(struct config *c, char *err, size_t len, int argc, ...)
{
	char *argv[16];
	va_list ap;

	va_start(ap, argc);
	argv[0] = "memplug";
	for (int i = 1; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	argv[argc] = NULL;
	va_end(ap);
	return config_parse(c, argc, argv, err, len);
}

static void defaults_and_values(void)
{
	struct config c;
	char err[256];

	CHECK_EQ(parse(&c, err, sizeof(err), 3, "--kernel", "vmlinux"), 0);
	CHECK_STR(c.kernel, "vmlinux");
	CHECK_EQ(c.cpus, 1);
	CHECK_EQ(c.mem, 256ULL << 20);
	CHECK_EQ(c.slots, 0);
	CHECK(c.initrd == NULL);
	CHECK_EQ(c.cpuid, CPUID_AUTO);
	CHECK_EQ(parse(&c, err, sizeof(err), 11, "--kernel", "k", "--cpus", "2",
		       "--memory", "512M,slots=8,maxmem=4G", "--cmdline",
		       "console=ttyS0", "--cpuid-mask", "none"), 0);
	CHECK_EQ(c.cpus, 2);
	CHECK_EQ(c.mem, 512ULL << 20);
	CHECK_EQ(c.slots, 8);
	CHECK_EQ(c.maxmem, 4ULL << 30);
	CHECK_STR(c.cmdline, "console=ttyS0");
	CHECK_EQ(c.cpuid, CPUID_NONE);
}

/* --dimm is parsed with the rest of argv, against a --numa given after it
 * too; what the specs ask for is checked later, against the memory map. */
static void dimm_specs_are_parsed(void)
{
	struct config c;
	char err[256];
	const struct config_dimm *d;

	CHECK_EQ(parse(&c, err, sizeof(err), 9, "--kernel", "k", "--dimm",
		       "id=a,size=128M,node=1,backend=file:/x,prealloc=on",
		       "--dimm", "id=b,size=1G,backend=memfd,reserve=off",
		       "--numa", "nodes=2"), 0);
	CHECK_EQ(c.ndimms, 2);
	d = &c.dimms[0];
	CHECK_STR(d->spec, "id=a,size=128M,node=1,backend=file:/x,prealloc=on");
	CHECK_STR(d->dimm.id, "a");
	CHECK_STR(d->dimm.memdev, "mem-a");
	CHECK_STR(d->backend.id, "mem-a");
	CHECK_EQ(d->dimm.node, 1);
	CHECK_EQ(d->dimm.slot, -1);
	CHECK_EQ(d->backend.kind, BACKEND_FILE);
	CHECK_STR(d->backend.mem_path, "/x");
	CHECK_EQ(d->backend.size, 128ULL << 20);
	CHECK(d->backend.prealloc && d->backend.reserve && !d->backend.share);
	d = &c.dimms[1];
	CHECK_EQ(d->backend.kind, BACKEND_MEMFD);
	CHECK_EQ(d->backend.size, 1ULL << 30);
	CHECK(d->backend.share && !d->backend.reserve);
	CHECK_EQ(d->dimm.node, 0);
	CHECK_EQ(parse(&c, err, sizeof(err), 5, "--kernel", "k", "--dimm",
		       "id=a,size=128M,prealloc=yes"), -EINVAL);
	CHECK_STR(err, "--dimm id=a,size=128M,prealloc=yes: cannot parse "
		       "\"prealloc\" (expected id=ID,size=SIZE[,node=N]"
		       "[,backend=ram|memfd|file:PATH][,prealloc=on][,share=on]"
		       "[,reserve=off])");
	CHECK_EQ(parse(&c, err, sizeof(err), 5, "--kernel", "k", "--dimm",
		       "size=128M"), -EINVAL);
	CHECK_STR(err, "--dimm size=128M: id= and size= are required");
}

/* A node is a number, not a size: node=0K was taken as node 0. */
static void dimm_node_is_a_number(void)
{
	struct config c;
	char err[256];

	CHECK_EQ(parse(&c, err, sizeof(err), 7, "--kernel", "k", "--dimm",
		       "id=a,size=128M,node=0K", "--numa", "nodes=2"), -EINVAL);
	CHECK_STR(err, "--dimm id=a,size=128M,node=0K: node is a number "
		       "(0 to 1)");
	CHECK_EQ(parse(&c, err, sizeof(err), 5, "--kernel", "k", "--dimm",
		       "id=a,size=128M,node=-1"), -EINVAL);
	CHECK_STR(err, "--dimm id=a,size=128M,node=-1: node is a number "
		       "(0 to 0)");
}

static void errors_say_what_was_wrong(void)
{
	struct config c;
	char err[256];

	CHECK_EQ(parse(&c, err, sizeof(err), 1), -EINVAL);
	CHECK_STR(err, "--kernel PATH is required (see --help)");
	CHECK_EQ(parse(&c, err, sizeof(err), 5, "--kernel", "k", "--cpus", "0"),
		 -EINVAL);
	CHECK_STR(err, "--cpus 0: need a whole number of at least 1");
	CHECK_EQ(parse(&c, err, sizeof(err), 5, "--kernel", "k", "--cpus", "two"),
		 -EINVAL);
	CHECK_EQ(parse(&c, err, sizeof(err), 5, "--kernel", "k", "--memory",
		       "lots"), -EINVAL);
	CHECK_STR(err, "--memory: \"lots\" is not a size (use a number with an "
		       "optional K, M, G or T suffix, e.g. 256M)");
	CHECK_EQ(parse(&c, err, sizeof(err), 5, "--kernel", "k", "--memory",
		       "1G,slots=x"), -EINVAL);
	CHECK_STR(err, "--memory: slots=x is not a number");
	CHECK_EQ(parse(&c, err, sizeof(err), 5, "--kernel", "k", "--memory",
		       "1G,frob=1"), -EINVAL);
	CHECK_STR(err, "--memory: unknown option \"frob=1\" (expected "
		       "SIZE,slots=N,maxmem=SIZE)");
	CHECK_EQ(parse(&c, err, sizeof(err), 4, "--kernel", "k", "--frob"),
		 -EINVAL);
	CHECK_STR(err, "unknown option --frob (see --help)");
	CHECK_EQ(parse(&c, err, sizeof(err), 2, "--kernel"), -EINVAL);
	CHECK_STR(err, "--kernel needs a value");
	CHECK_EQ(parse(&c, err, sizeof(err), 4, "--kernel", "k", "extra"),
		 -EINVAL);
	CHECK_STR(err, "unexpected argument \"extra\" (see --help)");
	CHECK_EQ(parse(&c, err, sizeof(err), 5, "--kernel", "k", "--cpuid-mask",
		       "some"), -EINVAL);
}

UNIT_MAIN(UNIT_CASE(defaults_and_values), UNIT_CASE(dimm_specs_are_parsed),
	  UNIT_CASE(dimm_node_is_a_number),
	  UNIT_CASE(errors_say_what_was_wrong))
