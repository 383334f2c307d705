/* A QMP client connection over a Unix socket: greeting, capabilities
 * negotiation, commands and asynchronous events on the same stream.
 *
 * Every function returns 0 or -errno. On failure the message for the user
 * (naming the thing and the value, without the "memplugctl: " prefix) is in
 * q->err. Events that arrive while a command waits for its reply are
 * queued, in order, and handed out by qmp_next_event(), so none is lost. */
#ifndef MEMPLUG_CTL_QMP_H
#define MEMPLUG_CTL_QMP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Longest line (one JSON message) accepted from the server. */
#define QMP_MAX_LINE (1u << 20)

/* No deadline: wait as long as it takes. */
#define QMP_FOREVER INT64_MAX

struct qmp {
	int fd;
	const char *path;
	char *buf;		/* bytes read but not yet consumed */
	size_t len, cap;
	json_t *events;		/* queued event objects (array) */
	long long next_id;
	char err[512];
	/* If set, shown each event that arrives while a command waits for
	 * its reply (before it is queued): progress of a long command. */
	void (*on_event)(void *ctx, json_t *event);
	void *event_ctx;
};

/* Monotonic clock in milliseconds. */
int64_t qmp_now_ms(void);

/* Connect to the socket at path, read the greeting and negotiate
 * capabilities. On failure q is closed again. */
int qmp_open(struct qmp *q, const char *path);
void qmp_close(struct qmp *q);

/* Run command name with args (a JSON object or NULL; the reference is
 * stolen). On success *ret (if ret is not NULL) gets a new reference to the
 * "return" value. A server error reply gives -EREMOTEIO and q->err
 * "memplug refused NAME: DESC". */
int qmp_execute(struct qmp *q, const char *name, json_t *args, json_t **ret);

/* Send an arbitrary command object (borrowed) and wait for the reply to it:
 * the first "return"/"error" message. *reply gets a new reference to the
 * whole reply message. */
int qmp_transact(struct qmp *q, json_t *cmd, json_t **reply);

/* Next event (new reference), queued or read, waiting until deadline_ms
 * (qmp_now_ms() scale, or QMP_FOREVER): -ETIMEDOUT when it passes. */
int qmp_next_event(struct qmp *q, int64_t deadline_ms, json_t **event);

/* Forget the events queued so far. */
void qmp_drop_events(struct qmp *q);

#endif
