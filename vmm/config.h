/* Command-line options of memplug. */
#ifndef MEMPLUG_VMM_CONFIG_H
#define MEMPLUG_VMM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cpuid_policy { CPUID_AUTO, CPUID_PVM, CPUID_NONE };

#define CONFIG_MAX_DIMMS 32

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
	const char *dimms[CONFIG_MAX_DIMMS]; /* --dimm specs, parsed at start */
	unsigned int ndimms;
	enum cpuid_policy cpuid;
	bool debug_io;
	bool sandbox; /* --sandbox on (default): seccomp filter, no capabilities */
	int verbose;
};

/* Parses argv. Returns 0 to run, 1 when --help/--version was handled,
 * or -EINVAL with a message in err. */
int config_parse(struct config *c, int argc, char **argv, char *err,
		 size_t errlen);

void config_usage(FILE *f);

/* Milliseconds of a test-only hook from the environment variable name
 * (README): 0 when unset, at most 10 s. */
unsigned int config_test_ms(const char *name);

#endif
