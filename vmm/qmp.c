#include "vmm/qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/log.h"

#define QMP_GREETING                                                          \
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 1, "    \
	"\"major\": 0}, \"package\": \"memplug 0.1.0\"}, \"capabilities\": []}}"

static void client_close(struct qmp_client *c)
{
	struct qmp_server *s = c->s;

	loop_del(s->loop, &c->w);
	close(c->w.fd);
	for (int i = 0; i < QMP_MAX_CLIENTS; i++)
		if (s->clients[i] == c)
			s->clients[i] = NULL;
	free(c);
}

/* One line out. A client that does not read its replies and events is
 * dropped rather than allowed to stall the VMM. */
static int client_send(struct qmp_client *c, const char *text)
{
	size_t len = strlen(text);
	char *line = malloc(len + 2);
	size_t off = 0;

	if (!line)
		return -ENOMEM;
	memcpy(line, text, len);
	memcpy(line + len, "\r\n", 2);
	len += 2;
	while (off < len) {
		ssize_t n = send(c->w.fd, line + off, len - off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn("control client dropped: %s",
				 n < 0 ? strerror(errno) : "closed");
			free(line);
			return -EPIPE;
		}
		off += (size_t)n;
	}
	free(line);
	return 0;
}

static int client_send_json(struct qmp_client *c, json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT);
	int r;

	json_decref(obj);
	if (!text)
		return -ENOMEM;
	r = client_send(c, text);
	free(text);
	return r;
}

static json_t *error_reply(const char *desc, json_t *id)
{
	json_t *r = json_pack("{s:{s:s,s:s}}", "error", "class", "GenericError",
			      "desc", desc);

	if (id)
		json_object_set(r, "id", id);
	return r;
}

static const struct qmp_command *find_command(struct qmp_server *s,
					      const char *name)
{
	for (size_t i = 0; i < s->ncmds; i++)
		if (!strcmp(s->cmds[i].name, name))
			return &s->cmds[i];
	return NULL;
}

/* Handles one complete line; returns -EPIPE if the client is gone. */
static int client_line(struct qmp_client *c, const char *line, size_t len)
{
	struct qmp_server *s = c->s;
	const struct qmp_command *cmd;
	json_t *req, *exec, *args, *id, *ret;
	json_error_t jerr;
	char err[512];

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
		       line[len - 1] == '\t'))
		len--;
	if (!len)
		return 0;
	req = json_loadb(line, len, 0, &jerr);
	if (!req) {
		snprintf(err, sizeof(err), "JSON parse error at column %d: %s",
			 jerr.column, jerr.text);
		return client_send_json(c, error_reply(err, NULL));
	}
	id = json_object_get(req, "id");
	exec = json_object_get(req, "execute");
	args = json_object_get(req, "arguments");
	if (!json_is_object(req) || !json_is_string(exec)) {
		ret = error_reply("expected an object with \"execute\": NAME", id);
		goto reply;
	}
	if (args && !json_is_object(args)) {
		ret = error_reply("\"arguments\" must be an object", id);
		goto reply;
	}
	cmd = find_command(s, json_string_value(exec));
	if (!cmd) {
		snprintf(err, sizeof(err), "The command %s has not been found",
			 json_string_value(exec));
		ret = error_reply(err, id);
		goto reply;
	}
	if (!c->negotiated && strcmp(cmd->name, "qmp_capabilities")) {
		ret = error_reply("Expecting capabilities negotiation with "
				  "'qmp_capabilities'", id);
		goto reply;
	}
	if (!strcmp(cmd->name, "qmp_capabilities")) {
		if (c->negotiated) {
			ret = error_reply("Capabilities negotiation is already "
					  "complete, command ignored", id);
			goto reply;
		}
		c->negotiated = true;
	}
	{
		json_t *empty = json_object();
		json_t *value;

		err[0] = 0;
		value = cmd->fn(s->ctx, args ? args : empty, err, sizeof(err));
		json_decref(empty);
		if (!value) {
			ret = error_reply(err[0] ? err : "command failed", id);
		} else {
			ret = json_pack("{s:o}", "return", value);
			if (id)
				json_object_set(ret, "id", id);
		}
	}
reply:
	json_decref(req);
	return client_send_json(c, ret);
}

static void client_readable(struct watch *w, uint32_t events)
{
	struct qmp_client *c = w->ctx;
	char tmp[4096];
	ssize_t n;

	(void)events;
	n = recv(w->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* A command cut off by the disconnect was never complete, so
		 * it never ran: nothing to undo. */
		client_close(c);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (tmp[i] == '\n') {
			int r = 0;

			if (!c->discarding)
				r = client_line(c, c->buf, c->len);
			c->len = 0;
			c->discarding = false;
			if (r == -EPIPE) {
				client_close(c);
				return;
			}
		} else if (c->discarding) {
			continue;
		} else if (c->len == QMP_LINE_MAX) {
			char err[128];

			snprintf(err, sizeof(err), "command is longer than the "
				 "limit of %d bytes; ignored", QMP_LINE_MAX);
			c->discarding = true;
			c->len = 0;
			if (client_send_json(c, error_reply(err, NULL)) < 0) {
				client_close(c);
				return;
			}
		} else {
			c->buf[c->len++] = tmp[i];
		}
	}
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
	c = slot >= 0 ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		const char *busy = "{\"error\": {\"class\": \"GenericError\", "
				   "\"desc\": \"too many control clients\"}}\r\n";

		if (send(fd, busy, strlen(busy), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("control: %s", strerror(errno));
		close(fd);
		return;
	}
	c->s = s;
	c->w = (struct watch){ fd, client_readable, c };
	if (loop_add(s->loop, &c->w) < 0) {
		close(fd);
		free(c);
		return;
	}
	s->clients[slot] = c;
	if (client_send(c, QMP_GREETING) < 0)
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
		if (r < 0 || listen(fd, 8) < 0) {
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

		if (c && c->negotiated && client_send(c, text) < 0)
			client_close(c);
	}
	free(text);
}
