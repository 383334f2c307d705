/* Leveled logging to stderr, every line prefixed "memplug: ". */
#ifndef MEMPLUG_LIB_LOG_H
#define MEMPLUG_LIB_LOG_H

#include <inttypes.h>
#include <stdbool.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_level;

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* A bound on lines a guest can cause: LOG_LIMIT_BURST per second, the
 * rest counted. A guest hammering a register logged 23,500 lines/s. */
#define LOG_LIMIT_BURST 10

struct log_limit {
	uint64_t window_ns; /* start of the current one-second window */
	unsigned int lines; /* logged in it */
	uint64_t suppressed; /* not logged since the last line that was */
};

/* True if a line may be logged at now_ns; then *suppressed is the count of
 * lines held back before it (and is reset). The caller serializes. */
bool log_limit_allow(struct log_limit *l, uint64_t now_ns,
		     uint64_t *suppressed);

#endif
