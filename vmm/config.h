/* Command-line options of memplug. */
#ifndef MEMPLUG_VMM_CONFIG_H
#define MEMPLUG_VMM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/dimm.h"

enum cpuid_policy { CPUID_AUTO, CPUID_PVM, CPUID_NONE };

#define CONFIG_MAX_DIMMS 32
#define CONFIG_DIMM_SPEC_MAX 512
#define CONFIG_MAX_ARGS 512

/* A --dimm option (a backend and the DIMM on it), or QEMU's -object (a
 * backend) or -device pc-dimm (a DIMM on one), parsed: machine_init
 * creates every backend, then every DIMM, before boot. The strings point
 * into the struct (text, memdev), so a struct config is not to be copied. */
struct config_dimm {
	const char *opt;                 /* "--dimm", "-object", "-device" */
	const char *spec;                /* as given, for messages */
	bool has_backend, has_dimm;
	char text[CONFIG_DIMM_SPEC_MAX]; /* spec, cut into its values */
	char memdev[DIMM_ID_MAX + 8];    /* the backend's id: "mem-" ID */
	struct backend_args backend;
	struct dimm_args dimm;
};

struct config {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	unsigned int cpus;
	uint64_t mem;
	unsigned int slots;
	uint64_t maxmem;
	uint64_t block_size; /* the guest's memory block size */
	unsigned int numa_nodes;
	const char *control;           /* QMP socket path, or NULL */
	const char *dump_acpi;         /* --dump-acpi DIR, or NULL */
	struct config_dimm dimms[CONFIG_MAX_DIMMS];
	unsigned int ndimms;
	enum cpuid_policy cpuid;
	bool debug_io;
	bool sandbox; /* --sandbox on (default): seccomp filter, no capabilities */
	bool kernel_unpack; /* --kernel-unpack on (default) */
	bool no_reboot;     /* QEMU's -no-reboot: a reset ends memplug */
	int verbose;
};

/* Parses all of argv, --dimm specs included (their DIMMs are checked
 * against the memory map later, by machine_init). Returns 0 to run, 1 when
 * --help/--version was handled, or -EINVAL with a message in err. */
int config_parse(struct config *c, int argc, char **argv, char *err,
		 size_t errlen);

void config_usage(FILE *f);

/* Milliseconds of a test-only hook from the environment variable name
 * (README): 0 when unset, at most 10 s. */
unsigned int config_test_ms(const char *name);

#endif
