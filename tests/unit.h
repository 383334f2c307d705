/* Minimal unit-test harness shared by the C unit tests under tests/.
 *
 * A test binary lists its cases with UNIT_MAIN(case1, case2, ...).
 *   binary            runs every case
 *   binary --list     prints one case name per line (pytest collects these)
 *   binary NAME       runs one case
 * Each case prints "PASS name" or "FAIL name: file:line: message"; the exit
 * status is the number of failed cases (capped at 1).
 */
#ifndef MEMPLUG_TESTS_UNIT_H
#define MEMPLUG_TESTS_UNIT_H

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct unit_case {
	const char *name;
	void (*fn)(void);
};

extern int unit_failed;

#define UNIT_FAIL(...)                                                        \
	do {                                                                  \
		printf("  %s:%d: ", __FILE__, __LINE__);                      \
		printf(__VA_ARGS__);                                          \
		printf("\n");                                                 \
		unit_failed = 1;                                              \
		return;                                                       \
	} while (0)

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond))                                                  \
			UNIT_FAIL("check failed: %s", #cond);                 \
	} while (0)

#define CHECK_EQ(a, b)                                                        \
	do {                                                                  \
		long long _a = (long long)(a), _b = (long long)(b);           \
		if (_a != _b)                                                 \
			UNIT_FAIL("%s == %s: got %lld (0x%llx), want %lld "   \
				  "(0x%llx)", #a, #b, _a,                     \
				  (unsigned long long)_a, _b,                 \
				  (unsigned long long)_b);                    \
	} while (0)

#define CHECK_STR(a, b)                                                       \
	do {                                                                  \
		const char *_a = (a), *_b = (b);                              \
		if (!_a || !_b || strcmp(_a, _b))                             \
			UNIT_FAIL("%s == %s: got \"%s\", want \"%s\"", #a,    \
				  #b, _a ? _a : "(null)",                     \
				  _b ? _b : "(null)");                        \
	} while (0)

#define CHECK_MEM(a, b, n)                                                    \
	do {                                                                  \
		const unsigned char *_a = (const void *)(a);                  \
		const unsigned char *_b = (const void *)(b);                  \
		for (size_t _i = 0; _i < (size_t)(n); _i++)                   \
			if (_a[_i] != _b[_i])                                 \
				UNIT_FAIL("%s and %s differ at byte %zu: "    \
					  "0x%02x != 0x%02x", #a, #b, _i,     \
					  _a[_i], _b[_i]);                    \
	} while (0)

int unit_run(const struct unit_case *cases, size_t n, int argc, char **argv);

#define UNIT_CASE(fn) { #fn, fn }
#define UNIT_MAIN(...)                                                        \
	int main(int argc, char **argv)                                       \
	{                                                                     \
		static const struct unit_case cases[] = { __VA_ARGS__ };     \
		return unit_run(cases, sizeof(cases) / sizeof(cases[0]),      \
				argc, argv);                                  \
	}

#endif
