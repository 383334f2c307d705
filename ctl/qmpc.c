/* QMP client: one JSON object per line in both directions. Replies and
 * events share the stream; the reader sorts them, queueing events so that
 * one arriving before a command's reply is still seen afterwards. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl/qmpc.h"

#define GREETING_TIMEOUT_MS 30000
#define BUF_START (64u << 10)

__attribute__((format(printf, 2, 3)))
static void set_err(struct qmpc *q, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q->err, sizeof(q->err), fmt, ap);
	va_end(ap);
}

int64_t qmpc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The first bytes of a message, for error messages. */
static void excerpt(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 4 < outlen; i++)
		out[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (i < n && o + 4 <= outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static int write_all(struct qmpc *q, const char *data, size_t n,
		     const char *what)
{
	while (n) {
		ssize_t w = send(q->fd, data, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;

			if (e == EPIPE || e == ECONNRESET)
				set_err(q, "memplug closed the connection on %s "
					"before memplugctl could send %s",
					q->path, what);
			else
				set_err(q, "sending %s to %s: %s", what,
					q->path, strerror(e));
			return -e;
		}
		data += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read more bytes into the buffer, waiting until deadline_ms. */
static int fill(struct qmpc *q, int64_t deadline_ms, const char *waiting_for)
{
	if (q->len == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : BUF_START;
		char *b;

		if (cap > QMPC_REPLY_LINE_MAX + 1)
			cap = QMPC_REPLY_LINE_MAX + 1;
		b = realloc(q->buf, cap);
		if (!b) {
			set_err(q, "out of memory reading from %s", q->path);
			return -ENOMEM;
		}
		q->buf = b;
		q->cap = cap;
	}
	for (;;) {
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		int timeout = -1, r;
		ssize_t n;

		if (deadline_ms != QMPC_FOREVER) {
			int64_t left = deadline_ms - qmpc_now_ms();

			if (left <= 0) {
				set_err(q, "memplug sent nothing on %s while "
					"memplugctl waited for %s", q->path,
					waiting_for);
				return -ETIMEDOUT;
			}
			timeout = left > 1000000 ? 1000000 : (int)left;
		}
		r = poll(&p, 1, timeout);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			set_err(q, "waiting for %s on %s: %s", waiting_for,
				q->path, strerror(e));
			return -e;
		}
		if (r == 0)
			continue;	/* the deadline check above ends it */
		n = read(q->fd, q->buf + q->len, q->cap - q->len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			int e = errno;

			set_err(q, "reading from %s: %s", q->path, strerror(e));
			return -e;
		}
		if (n == 0) {
			set_err(q, "memplug closed the connection on %s while "
				"memplugctl waited for %s%s", q->path,
				waiting_for, q->len ? " (in the middle of a "
				"message)" : "");
			return -ECONNRESET;
		}
		q->len += (size_t)n;
		return 0;
	}
}

static int blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

/* Next JSON object from the stream. Blank lines are skipped. */
static int read_message(struct qmpc *q, int64_t deadline_ms,
			const char *waiting_for, json_t **msg)
{
	size_t scanned = 0;

	for (;;) {
		char *nl = q->len > scanned ?
			memchr(q->buf + scanned, '\n', q->len - scanned) : NULL;
		size_t n, rest;
		json_error_t jerr;
		json_t *m;
		int r;

		if (!nl) {
			scanned = q->len;
			if (q->len > QMPC_REPLY_LINE_MAX) {
				set_err(q, "memplug sent a line longer than "
					"%u MiB on %s while memplugctl waited "
					"for %s", QMPC_REPLY_LINE_MAX >> 20,
					q->path, waiting_for);
				return -EMSGSIZE;
			}
			r = fill(q, deadline_ms, waiting_for);
			if (r < 0)
				return r;
			continue;
		}
		n = (size_t)(nl - q->buf);
		rest = q->len - n - 1;
		m = NULL;
		if (!blank(q->buf, n)) {
			m = json_loadb(q->buf, n, JSON_DECODE_ANY, &jerr);
			if (!m || !json_is_object(m)) {
				char ex[120];

				excerpt(q->buf, n, ex, sizeof(ex));
				if (m)
					set_err(q, "memplug sent a message on "
						"%s that is not a JSON object: "
						"%s", q->path, ex);
				else
					set_err(q, "memplug sent a message on "
						"%s that is not JSON (%s at "
						"column %d): %s", q->path,
						jerr.text, jerr.column, ex);
				json_decref(m);
				return -EPROTO;
			}
		}
		memmove(q->buf, nl + 1, rest);
		q->len = rest;
		scanned = 0;
		if (m) {
			*msg = m;
			return 0;
		}
	}
}

static int queue_event(struct qmpc *q, json_t *ev)
{
	if (json_array_append_new(q->events, ev) < 0) {
		set_err(q, "out of memory queueing an event from %s", q->path);
		return -ENOMEM;
	}
	return 0;
}

static int is_reply(json_t *m)
{
	return json_object_get(m, "return") || json_object_get(m, "error");
}

int qmpc_transact(struct qmpc *q, json_t *cmd, json_t **reply)
{
	const char *name = json_string_value(json_object_get(cmd, "execute"));
	json_t *id = json_object_get(cmd, "id");
	char what[160];
	char *text;
	int r;

	snprintf(what, sizeof(what), "the reply to %s", name ? name : "the command");
	text = json_dumps(cmd, JSON_COMPACT);
	if (!text) {
		set_err(q, "cannot encode the %s command", name ? name : "QMP");
		return -ENOMEM;
	}
	r = write_all(q, text, strlen(text), name ? name : "the command");
	if (!r)
		r = write_all(q, "\n", 1, name ? name : "the command");
	free(text);
	if (r < 0)
		return r;
	for (;;) {
		json_t *m, *mid;

		r = read_message(q, QMPC_FOREVER, what, &m);
		if (r < 0)
			return r;
		if (json_object_get(m, "event")) {
			if (q->on_event)
				q->on_event(q->event_ctx, m);
			r = queue_event(q, m);
			if (r < 0)
				return r;
			continue;
		}
		mid = json_object_get(m, "id");
		/* A reply that names another id belongs to no one here. */
		if (is_reply(m) && (!id || !mid || json_equal(id, mid))) {
			*reply = m;
			return 0;
		}
		json_decref(m);
	}
}

int qmpc_execute(struct qmpc *q, const char *name, json_t *args, json_t **ret)
{
	json_t *cmd, *reply, *v, *e;
	int r;

	cmd = json_pack("{s:s, s:I}", "execute", name, "id",
			(json_int_t)q->next_id++);
	if (!cmd)
		json_decref(args);
	if (!cmd || (args && json_object_set_new(cmd, "arguments", args) < 0)) {
		json_decref(cmd);
		set_err(q, "out of memory building the %s command", name);
		return -ENOMEM;
	}
	r = qmpc_transact(q, cmd, &reply);
	json_decref(cmd);
	if (r < 0)
		return r;
	e = json_object_get(reply, "error");
	if (e) {
		const char *desc = json_string_value(json_object_get(e, "desc"));
		char *dump = NULL;

		if (!desc)
			desc = dump = json_dumps(e, JSON_COMPACT);
		set_err(q, "memplug refused %s: %s", name,
			desc ? desc : "(no description)");
		free(dump);
		json_decref(reply);
		return -EREMOTEIO;
	}
	v = json_object_get(reply, "return");
	if (ret)
		*ret = json_incref(v);
	json_decref(reply);
	return 0;
}

int qmpc_next_event(struct qmpc *q, int64_t deadline_ms, json_t **event)
{
	for (;;) {
		json_t *m;
		int r;

		if (json_array_size(q->events)) {
			*event = json_incref(json_array_get(q->events, 0));
			json_array_remove(q->events, 0);
			return 0;
		}
		r = read_message(q, deadline_ms, "events", &m);
		if (r < 0)
			return r;
		if (json_object_get(m, "event")) {
			*event = m;
			return 0;
		}
		json_decref(m);	/* a stray reply: no command is waiting */
	}
}

void qmpc_drop_events(struct qmpc *q)
{
	json_array_clear(q->events);
}

void qmpc_close(struct qmpc *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	free(q->buf);
	q->buf = NULL;
	q->len = q->cap = 0;
	json_decref(q->events);
	q->events = NULL;
}

int qmpc_open(struct qmpc *q, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	json_t *greeting;
	const char *desc;
	int r;

	memset(q, 0, sizeof(*q));
	q->fd = -1;
	q->path = path;
	q->next_id = 1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		set_err(q, "socket path %s is longer than the %zu bytes a Unix "
			"socket address holds", path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	q->events = json_array();
	if (!q->events) {
		set_err(q, "out of memory");
		return -ENOMEM;
	}
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd < 0) {
		r = -errno;
		set_err(q, "cannot create a Unix socket: %s", strerror(-r));
		goto fail;
	}
	if (connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		set_err(q, "cannot connect to %s: %s (is memplug running with "
			"--control %s?)", path, strerror(-r), path);
		goto fail;
	}
	r = read_message(q, qmpc_now_ms() + GREETING_TIMEOUT_MS,
			 "the QMP greeting", &greeting);
	if (r < 0) {
		if (r == -ETIMEDOUT)
			set_err(q, "%s sent no QMP greeting within %d s (is it "
				"memplug's control socket?)", path,
				GREETING_TIMEOUT_MS / 1000);
		goto fail;
	}
	desc = json_string_value(json_object_get(
		json_object_get(greeting, "error"), "desc"));
	if (desc) {
		/* e.g. a server with no room for another client */
		set_err(q, "memplug refused the connection on %s: %s", path,
			desc);
		json_decref(greeting);
		r = -ECONNREFUSED;
		goto fail;
	}
	if (!json_is_object(json_object_get(greeting, "QMP"))) {
		char *dump = json_dumps(greeting, JSON_COMPACT);
		char ex[120];

		excerpt(dump ? dump : "?", dump ? strlen(dump) : 1, ex,
			sizeof(ex));
		set_err(q, "%s does not speak QMP: its first message is %s",
			path, ex);
		free(dump);
		json_decref(greeting);
		r = -EPROTO;
		goto fail;
	}
	json_decref(greeting);
	r = qmpc_execute(q, "qmp_capabilities", NULL, NULL);
	if (r < 0)
		goto fail;
	return 0;
fail:
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	json_decref(q->events);
	q->events = NULL;
	free(q->buf);
	q->buf = NULL;
	return r;
}
