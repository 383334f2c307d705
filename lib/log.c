#include "lib/log.h"

#include <stdarg.h>
#include <stdio.h>

enum log_level log_level = LOG_WARN;

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line so messages from vCPU threads do not interleave. */
	fprintf(stderr, "memplug: %s%s\n", level == LOG_WARN ? "warning: " : "",
		line);
}

bool log_limit_allow(struct log_limit *l, uint64_t now_ns,
		     uint64_t *suppressed)
{
	if (now_ns - l->window_ns >= 1000000000ull) {
		l->window_ns = now_ns;
		l->lines = 0;
	}
	if (l->lines == LOG_LIMIT_BURST) {
		l->suppressed++;
		return false;
	}
	l->lines++;
	*suppressed = l->suppressed;
	l->suppressed = 0;
	return true;
}
