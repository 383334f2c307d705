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

UNIT_MAIN(UNIT_CASE(defaults_and_values), UNIT_CASE(errors_say_what_was_wrong))
