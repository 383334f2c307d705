#include "vmm/qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/qmp_request.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define QMP_MAX_CLIENTS_S STR(QMP_MAX_CLIENTS)
#define QMP_NEGOTIATE_S_S STR(QMP_NEGOTIATE_S)

#define QMP_GREETING                                                          \
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 1, "    \
	"\"major\": 0}, \"package\": \"memplug 0.1.0\"}, \"capabilities\": []}}"

static void client_stop_timer(struct qmp_client *c)
{
	if (c->timer.fd < 0)
		return;
	loop_del(c->s->loop, &c->timer);
	close(c->timer.fd);
	c->timer.fd = -1;
}

json_t qmp_deferred_marker;

static void client_close(struct qmp_client *c)
{
	struct qmp_server *s = c->s;

	if (c->waiting)
		c->waiting->c = NULL;
	free(c->backlog);
	client_stop_timer(c);
	loop_del(s->loop, &c->w);
	close(c->w.fd);
	for (int i = 0; i < QMP_MAX_CLIENTS; i++)
		if (s->clients[i] == c)
			s->clients[i] = NULL;
	free(c->out);
	free(c);
}

/* Input is watched unless a deferred reply is pending, output while bytes
 * wait to be sent. */
static int client_watch(struct qmp_client *c)
{
	return loop_mod(c->s->loop, &c->w, (c->waiting ? 0 : EPOLLIN) |
			(c->want_out ? EPOLLOUT : 0));
}

/* Sends what the socket takes now; the rest waits for EPOLLOUT. Returns 0,
 * or -EPIPE when the client is gone. */
static int client_flush(struct qmp_client *c)
{
	bool want;

	while (c->out_off < c->out_len) {
		ssize_t n = send(c->w.fd, c->out + c->out_off,
				 c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			log_warn("control client dropped: %s",
				 n < 0 ? strerror(errno) : "closed");
			return -EPIPE;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	want = c->out_len > 0;
	if (want != c->want_out) {
		c->want_out = want;
		if (client_watch(c) < 0)
			return -EPIPE;
	}
	return 0;
}

/* Queues one line and sends what the socket takes. A client that leaves
 * QMP_OUT_MAX of replies and events unread is dropped: it must not make
 * memplug hold unbounded memory, nor stall it. Returns 0 or -EPIPE (the
 * caller closes the client). */
static int client_send(struct qmp_client *c, const char *text)
{
	size_t len = strlen(text) + 2;
	size_t pending = c->out_len - c->out_off;

	if (pending + len > QMP_OUT_MAX) {
		log_warn("control client dropped: it left %zu bytes of replies "
			 "and events unread (the limit is %d)", pending,
			 QMP_OUT_MAX);
		return -EPIPE;
	}
	if (c->out_off) {
		memmove(c->out, c->out + c->out_off, pending);
		c->out_off = 0;
		c->out_len = pending;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *p;

		while (cap < c->out_len + len)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p) {
			log_warn("control client dropped: no memory for its "
				 "replies");
			return -EPIPE;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, text, len - 2);
	memcpy(c->out + c->out_len + len - 2, "\r\n", 2);
	c->out_len += len;
	return client_flush(c);
}

/* A reply that could not be built (no memory) still answers the client:
 * a client must never wait forever for a reply. */
static int client_send_json(struct qmp_client *c, json_t *obj)
{
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	int r;

	json_decref(obj);
	if (!text)
		return client_send(c, "{\"error\": {\"class\": \"GenericError\", "
				   "\"desc\": \"memplug could not build the "
				   "reply\"}}");
	r = client_send(c, text);
	free(text);
	return r;
}

/* Runs cmd for client c: its reply (NULL if it could not be built), or
 * QMP_DEFERRED. */
static json_t *run_command(struct qmp_client *c, const struct qmp_command *cmd,
			   json_t *args, json_t *id)
{
	struct qmp_server *s = c->s;
	json_t *empty = json_object(), *value;
	char err[512] = "";

	s->current = c;
	s->current_id = id;
	s->current_class = NULL;
	value = cmd->fn(s->ctx, args ? args : empty, err, sizeof(err));
	s->current = NULL;
	s->current_id = NULL;
	json_decref(empty);
	if (value == QMP_DEFERRED)
		return value;
	/* Negotiated once qmp_capabilities accepted its arguments. */
	if (value && !c->negotiated) {
		c->negotiated = true;
		client_stop_timer(c);
	}
	return qmp_command_reply(value, err, s->current_class, id);
}

static int client_line(struct qmp_client *c, const char *line, size_t len)
{
	const struct qmp_command *cmd;
	json_t *req, *ret = NULL;
	json_error_t jerr;
	char err[512];

	req = json_loadb(line, len, JSON_DECODE_ANY, &jerr);
	if (!req) {
		snprintf(err, sizeof(err), "JSON parse error at column %d: %s",
			 jerr.column, jerr.text);
		return client_send_json(c, qmp_error_reply(NULL, err, NULL));
	}
	cmd = qmp_request_command(c->s->cmds, c->s->ncmds, c->negotiated, req,
				  &ret);
	if (cmd)
		ret = run_command(c, cmd, json_object_get(req, "arguments"),
				  json_object_get(req, "id"));
	json_decref(req);
	return ret == QMP_DEFERRED ? 0 : client_send_json(c, ret);
}

/* A value is complete: runs it unless it was too long. Returns -EPIPE if
 * the client was closed. */
static int value_end(struct qmp_client *c)
{
	int r = c->discarding ? 0 : client_line(c, c->buf, c->len);

	c->frame.in_value = c->discarding = false;
	if (r < 0) {
		client_close(c);
		return -EPIPE;
	}
	return 0;
}

/* Splits data into top-level JSON values (QEMU's framing) and runs each;
 * what follows a deferred command waits in the backlog. Returns -EPIPE if
 * the client was closed. */
static int client_feed(struct qmp_client *c, const char *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char ch = data[i];
		int end;

		if (c->waiting) {
			char *b = realloc(c->backlog, c->backlog_len + n - i);

			if (!b) {
				log_warn("control client dropped: no memory for "
					 "its commands");
				client_close(c);
				return -EPIPE;
			}
			memcpy(b + c->backlog_len, data + i, n - i);
			c->backlog = b;
			c->backlog_len += n - i;
			return 0;
		}
		if (!c->frame.in_value) {
			if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
				continue;
			qmp_frame_start(&c->frame);
			c->len = 0;
		}
		end = qmp_frame_step(&c->frame, ch);
		if (end < 0) {
			/* The delimiter starts the next value: see it again. */
			if (value_end(c) < 0)
				return -EPIPE;
			i--;
			continue;
		}
		if (!c->discarding && c->len == QMP_LINE_MAX) {
			char err[128];

			snprintf(err, sizeof(err), "command is longer than the "
				 "limit of %d bytes; ignored", QMP_LINE_MAX);
			c->discarding = true;
			if (client_send_json(c, qmp_error_reply(NULL, err,
								 NULL)) < 0) {
				client_close(c);
				return -EPIPE;
			}
		}
		if (!c->discarding)
			c->buf[c->len++] = ch;
		if (end > 0 && value_end(c) < 0)
			return -EPIPE;
	}
	return 0;
}

static void client_read(struct qmp_client *c)
{
	char tmp[4096];
	ssize_t n;

	/* Input waits in the socket while a reply is deferred (EPOLLIN is
	 * off); only a hangup gets here then. */
	if (c->waiting && c->backlog_len >= QMP_LINE_MAX) {
		client_close(c);
		return;
	}
	n = recv(c->w.fd, tmp, sizeof(tmp), MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* A command cut off by the disconnect was never complete, so
		 * it never ran: nothing to undo. */
		client_close(c);
		return;
	}
	client_feed(c, tmp, (size_t)n);
}

void qmp_error_class(struct qmp_server *s, const char *cls)
{
	s->current_class = cls;
}

json_t *qmp_fail(struct qmp_server *s, int r)
{
	if (r == -ENOENT)
		qmp_error_class(s, "DeviceNotFound");
	return NULL;
}

struct qmp_ticket *qmp_defer(struct qmp_server *s)
{
	struct qmp_client *c = s->current;
	struct qmp_ticket *t;

	if (!c || c->waiting || !(t = calloc(1, sizeof(*t))))
		return NULL;
	t->c = c;
	t->id = json_incref(s->current_id);
	c->waiting = t;
	if (client_watch(c) < 0) {
		c->waiting = NULL;
		json_decref(t->id);
		free(t);
		return NULL;
	}
	return t;
}

void qmp_complete(struct qmp_ticket *t, json_t *value, const char *err)
{
	struct qmp_client *c = t->c;
	json_t *ret;
	char *backlog;
	size_t len;

	if (!c) {
		json_decref(value);
		json_decref(t->id);
		free(t);
		return;
	}
	ret = qmp_command_reply(value, err, NULL, t->id);
	json_decref(t->id);
	c->waiting = NULL;
	free(t);
	if (client_send_json(c, ret) < 0 || client_watch(c) < 0) {
		client_close(c);
		return;
	}
	backlog = c->backlog;
	len = c->backlog_len;
	c->backlog = NULL;
	c->backlog_len = 0;
	client_feed(c, backlog, len);
	free(backlog);
}

static void client_event(struct watch *w, uint32_t events)
{
	struct qmp_client *c = w->ctx;

	if ((events & EPOLLOUT) && client_flush(c) < 0) {
		client_close(c);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		client_read(c);
}

static void client_timeout(struct watch *w, uint32_t events)
{
	struct qmp_client *c = w->ctx;
	char err[128];

	(void)events;
	log_warn("control client dropped: no qmp_capabilities within %d s",
		 QMP_NEGOTIATE_S);
	snprintf(err, sizeof(err), "no qmp_capabilities within %d s of "
		 "connecting; closing the connection", QMP_NEGOTIATE_S);
	client_send_json(c, qmp_error_reply(NULL, err, NULL));
	client_close(c);
}

static int client_start_timer(struct qmp_client *c)
{
	struct itimerspec t = { .it_value.tv_sec = QMP_NEGOTIATE_S };
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	int r;

	if (fd < 0)
		return -errno;
	c->timer = (struct watch){ fd, client_timeout, c };
	r = timerfd_settime(fd, 0, &t, NULL) < 0 ? -errno
						 : loop_add(c->s->loop, &c->timer);
	if (r < 0) {
		close(fd);
		c->timer.fd = -1;
		return r;
	}
	return 0;
}

/* Refused on the spot: the client learns why instead of waiting. */
static void refuse(int fd, const char *why)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "{\"error\": {\"class\": "
			 "\"GenericError\", \"desc\": \"%s\"}}\r\n", why);

	if (send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("control: %s", strerror(errno));
	close(fd);
}

static void server_accept(struct watch *w, uint32_t events)
{
	struct qmp_server *s = w->ctx;
	struct qmp_client *c;
	int fd, slot = -1;

	(void)events;
	fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (int i = 0; i < QMP_MAX_CLIENTS && slot < 0; i++)
		if (!s->clients[i])
			slot = i;
	if (slot < 0) {
		log_warn("control client refused: %d clients are connected, "
			 "the limit", QMP_MAX_CLIENTS);
		refuse(fd, "too many control clients: memplug serves "
		       QMP_MAX_CLIENTS_S " at a time; close one (a client that "
		       "has not sent qmp_capabilities is dropped after "
		       QMP_NEGOTIATE_S_S " s)");
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		refuse(fd, "memplug has no memory for another client");
		return;
	}
	c->s = s;
	c->w = (struct watch){ fd, client_event, c };
	c->timer.fd = -1;
	if (loop_add(s->loop, &c->w) < 0) {
		close(fd);
		free(c);
		return;
	}
	s->clients[slot] = c;
	if (client_start_timer(c) < 0 || client_send(c, QMP_GREETING) < 0)
		client_close(c);
}

int qmp_open(struct qmp_server *s, const char *path, struct loop *loop,
	     const struct qmp_command *cmds, size_t ncmds, void *ctx)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, e;

	memset(s, 0, sizeof(*s));
	s->lw.fd = -1;
	if (strlen(path) >= sizeof(addr.sun_path)) {
		log_error("--control %s: the path is longer than %zu bytes",
			  path, sizeof(addr.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (lstat(path, &st) == 0) {
		/* Replace a socket left by a memplug that died, never a socket
		 * somebody still listens on, never another kind of file. */
		if (!S_ISSOCK(st.st_mode)) {
			log_error("--control %s: the path exists and is not a "
				  "socket", path);
			close(fd);
			return -EEXIST;
		}
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
			log_error("--control %s: another process is listening "
				  "there", path);
			close(fd);
			return -EADDRINUSE;
		}
		unlink(path);
	}
	{
		mode_t old = umask(0177); /* the socket is created 0600 */
		int r = bind(fd, (struct sockaddr *)&addr, sizeof(addr));

		e = errno;
		umask(old);
		if (r < 0 || listen(fd, SOMAXCONN) < 0) {
			log_error("--control %s: %s", path, strerror(e));
			close(fd);
			return -e;
		}
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->loop = loop;
	s->cmds = cmds;
	s->ncmds = ncmds;
	s->ctx = ctx;
	s->lw = (struct watch){ fd, server_accept, s };
	if ((e = loop_add(loop, &s->lw)) < 0) {
		close(fd);
		unlink(path);
		return e;
	}
	return 0;
}

void qmp_close(struct qmp_server *s)
{
	for (int i = 0; i < QMP_MAX_CLIENTS; i++)
		if (s->clients[i])
			client_close(s->clients[i]);
	if (s->lw.fd >= 0) {
		loop_del(s->loop, &s->lw);
		close(s->lw.fd);
		unlink(s->path);
		s->lw.fd = -1;
	}
}

void qmp_event(struct qmp_server *s, const char *name, json_t *data)
{
	struct timeval tv;
	json_t *ev;
	char *text;

	gettimeofday(&tv, NULL);
	ev = json_pack("{s:s,s:o,s:{s:I,s:I}}", "event", name, "data",
		       data ? data : json_object(), "timestamp", "seconds",
		       (json_int_t)tv.tv_sec, "microseconds",
		       (json_int_t)tv.tv_usec);
	text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	json_decref(ev);
	if (!text)
		return;
	for (int i = 0; i < QMP_MAX_CLIENTS; i++) {
		struct qmp_client *c = s->clients[i];

		/* Closing c may free it: loop_del keeps the rest of the
		 * running batch from reaching it. */
		if (c && c->negotiated && client_send(c, text) < 0)
			client_close(c);
	}
	free(text);
}
