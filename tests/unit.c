#include "tests/unit.h"

int unit_failed;

static int run_case(const struct unit_case *c)
{
	unit_failed = 0;
	c->fn();
	printf("%s %s\n", unit_failed ? "FAIL" : "PASS", c->name);
	fflush(stdout);
	return unit_failed;
}

int unit_run(const struct unit_case *cases, size_t n, int argc, char **argv)
{
	int failed = 0;

	if (argc > 1 && !strcmp(argv[1], "--list")) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", cases[i].name);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (argc > 1 && strcmp(argv[1], cases[i].name))
			continue;
		failed += run_case(&cases[i]);
		if (argc > 1)
			return failed ? 1 : 0;
	}
	if (argc > 1) {
		printf("no test case named %s\n", argv[1]);
		return 2;
	}
	return failed ? 1 : 0;
}
