/* vmm/qmp_frame.c: where each JSON value of a stream ends. */
#include "tests/unit.h"
#include "vmm/qmp_frame.h"

/* The values of s as [start, end) pairs written to out, as the server
 * cuts them; returns how many. */
static int cut(const char *s, int out[][2], int max)
{
	struct qmp_frame f = { 0 };
	int n = 0, start = 0;

	for (int i = 0; s[i] && n < max; i++) {
		int end;

		if (!f.in_value) {
			if (s[i] == ' ' || s[i] == '\n')
				continue;
			qmp_frame_start(&f);
			start = i;
		}
		end = qmp_frame_step(&f, s[i]);
		if (end) {
			out[n][0] = start;
			out[n++][1] = end > 0 ? i + 1 : i;
			f.in_value = false;
			if (end < 0)
				i--;
		}
	}
	return n;
}

static void objects_end_at_their_brace(void)
{
	int v[4][2];

	CHECK_EQ(cut("{\"a\": {\"b\": [1, {}]}}{\"c\": 2}", v, 4), 2);
	CHECK_EQ(v[0][1], 21);
	CHECK_EQ(v[1][0], 21);
	CHECK_EQ(v[1][1], 29);
	/* Over lines; braces in strings, escaped quotes. */
	CHECK_EQ(cut("{\n \"x\": \"}{\\\" ]\"\n}", v, 4), 1);
	CHECK_EQ(v[0][1], 18);
	/* Unfinished: nothing yet. */
	CHECK_EQ(cut("{\"execute\": \"quit\"", v, 4), 0);
}

static void scalars_end_at_a_delimiter(void)
{
	int v[4][2];

	CHECK_EQ(cut("42 \"s\"[1]", v, 4), 3);
	CHECK_EQ(v[0][0], 0);
	CHECK_EQ(v[0][1], 2);
	CHECK_EQ(v[1][0], 3);
	CHECK_EQ(v[1][1], 6);
	CHECK_EQ(v[2][1], 9);
	/* true{: the brace starts the next value. */
	CHECK_EQ(cut("true{}", v, 4), 2);
	CHECK_EQ(v[0][1], 4);
	CHECK_EQ(v[1][0], 4);
}

static void a_stray_closer_ends_a_value(void)
{
	int v[4][2];

	CHECK_EQ(cut("}]{}", v, 4), 3);
	CHECK_EQ(v[0][1], 1);
	CHECK_EQ(v[1][1], 2);
}

UNIT_MAIN(UNIT_CASE(objects_end_at_their_brace),
	  UNIT_CASE(scalars_end_at_a_delimiter),
	  UNIT_CASE(a_stray_closer_ends_a_value))
