/* memplugctl list: the DIMMs as a table, or memplug's JSON. */
#include <stdlib.h>
#include <string.h>

#include "acpi/ost.h"
#include "ctl/ctl.h"
#include "lib/size.h"

#define LIST_COLS 8

static const char *list_header[LIST_COLS] = {
	"ID", "SLOT", "BASE", "SIZE", "NODE", "BACKEND", "STATE", "LAST-OST"
};

static void int_cell(json_t *v, const char *fmt, char *out, size_t len)
{
	if (json_is_integer(v))
		snprintf(out, len, fmt, (long long)json_integer_value(v));
	else
		snprintf(out, len, "-");
}

static void str_cell(json_t *v, char *out, size_t len)
{
	snprintf(out, len, "%s", json_is_string(v) ? json_string_value(v) : "-");
}

static void ost_cell(json_t *ost, char *out, size_t len)
{
	json_t *src = json_object_get(ost, "source");
	json_t *st = json_object_get(ost, "status");
	unsigned long long s, c;
	const char *kind;

	if (!json_is_integer(src) || !json_is_integer(st)) {
		snprintf(out, len, "-");
		return;
	}
	s = (unsigned long long)json_integer_value(src);
	c = (unsigned long long)json_integer_value(st);
	kind = acpi_ost_source_kind(s);
	if (kind)
		snprintf(out, len, "%s 0x%02llx %s", kind, c,
			 acpi_ost_status_name(s, c));
	else
		snprintf(out, len, "source 0x%llx 0x%02llx %s", s, c,
			 acpi_ost_status_name(s, c));
}

static void print_row(char cells[][128], const int *width)
{
	for (int i = 0; i < LIST_COLS; i++) {
		if (i == LIST_COLS - 1)
			printf("%s\n", cells[i]);
		else
			printf("%-*s  ", width[i], cells[i]);
	}
}

static int print_table(json_t *list)
{
	size_t n = json_array_size(list), i;
	char (*cells)[LIST_COLS][128];
	int width[LIST_COLS];
	json_t *d;

	cells = calloc(n + 1, sizeof(*cells));
	if (!cells) {
		ctl_err("out of memory for a table of %zu DIMMs", n);
		return EXIT_FAIL;
	}
	for (int c = 0; c < LIST_COLS; c++)
		snprintf(cells[0][c], sizeof(cells[0][c]), "%s", list_header[c]);
	json_array_foreach(list, i, d) {
		char (*row)[128] = cells[i + 1];
		json_t *size = json_object_get(d, "size");

		str_cell(json_object_get(d, "id"), row[0], sizeof(row[0]));
		int_cell(json_object_get(d, "slot"), "%lld", row[1],
			 sizeof(row[1]));
		int_cell(json_object_get(d, "addr"), "0x%llx", row[2],
			 sizeof(row[2]));
		if (json_is_integer(size) && json_integer_value(size) >= 0)
			size_fmt((uint64_t)json_integer_value(size), row[3],
				 sizeof(row[3]));
		else
			snprintf(row[3], sizeof(row[3]), "-");
		int_cell(json_object_get(d, "node"), "%lld", row[4],
			 sizeof(row[4]));
		str_cell(json_object_get(d, "backend"), row[5], sizeof(row[5]));
		str_cell(json_object_get(d, "state"), row[6], sizeof(row[6]));
		ost_cell(json_object_get(d, "ost"), row[7], sizeof(row[7]));
	}
	for (int c = 0; c < LIST_COLS; c++) {
		width[c] = 0;
		for (i = 0; i <= n; i++) {
			int w = (int)strlen(cells[i][c]);

			if (w > width[c])
				width[c] = w;
		}
	}
	for (i = 0; i <= n; i++)
		print_row(cells[i], width);
	free(cells);
	return EXIT_OK;
}

int cmd_list(int argc, char **argv, const char *sock)
{
	enum { OPT_JSON = 256 };
	static const struct option opts[] = {
		CTL_COMMON_OPTIONS,
		{ "json", no_argument, NULL, OPT_JSON },
		{ 0 }
	};
	int as_json = 0, c, r;
	json_t *list;
	struct qmpc q;

	optind = 0;
	while ((c = ctl_next_opt("list", argc, argv, opts, false, &sock,
				 &r)) >= 0)
		if (c == OPT_JSON)
			as_json = 1;
	if (c == CTL_OPTS_EXIT)
		return r;
	if (ctl_no_more_args("list", argc, argv, 0, NULL) != EXIT_OK ||
	    ctl_connect(&q, sock) < 0)
		return EXIT_FAIL;
	if (qmpc_execute(&q, "x-memplug-query-dimms", NULL, &list) < 0) {
		ctl_err("%s", q.err);
		qmpc_close(&q);
		return EXIT_FAIL;
	}
	qmpc_close(&q);
	if (!json_is_array(list)) {
		ctl_err("memplug's answer to x-memplug-query-dimms is not a list");
		json_decref(list);
		return EXIT_FAIL;
	}
	if (as_json) {
		char *text = json_dumps(list, JSON_COMPACT);

		r = text ? EXIT_OK : EXIT_FAIL;
		if (text)
			printf("%s\n", text);
		else
			ctl_err("cannot encode the DIMM list as JSON");
		free(text);
	} else {
		r = print_table(list);
	}
	json_decref(list);
	return r;
}
