#include "lib/size.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

int size_parse(const char *s, uint64_t unit, uint64_t *out)
{
	unsigned long long v, frac = 0, scale = 1;
	uint64_t mul = unit;
	char *end;

	if (!s || *s < '0' || *s > '9' || !unit)
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	/* At most 9 fraction digits: 0.5G, 1.25M as QEMU takes them. */
	if (*end == '.') {
		for (end++; *end >= '0' && *end <= '9' && scale < 1000000000ULL;
		     end++) {
			frac = frac * 10 + (unsigned long long)(*end - '0');
			scale *= 10;
		}
		if (scale == 1)
			return -EINVAL;
	}
	switch (*end) {
	case 'k': case 'K': mul = 1ULL << 10; end++; break;
	case 'm': case 'M': mul = 1ULL << 20; end++; break;
	case 'g': case 'G': mul = 1ULL << 30; end++; break;
	case 't': case 'T': mul = 1ULL << 40; end++; break;
	}
	if (*end || v > UINT64_MAX / mul)
		return -EINVAL;
	/* The fraction's bytes must be whole: frac * mul / scale exactly. */
	if (frac && ((unsigned __int128)frac * mul % scale ||
		     (uint64_t)v * mul > UINT64_MAX -
		     (uint64_t)((unsigned __int128)frac * mul / scale)))
		return -EINVAL;
	*out = (uint64_t)v * mul +
	       (uint64_t)((unsigned __int128)frac * mul / scale);
	return 0;
}

const char *size_fmt(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (u < 3 && bytes && bytes % 1024 == 0) {
		bytes /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%" PRIu64, bytes);
	else
		snprintf(buf, len, "%" PRIu64 "%c", bytes, units[u]);
	return buf;
}

int uint_parse(const char *s, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT_MAX)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}
