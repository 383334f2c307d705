#include "vmm/qmp_frame.h"

#include <string.h>

void qmp_frame_start(struct qmp_frame *f)
{
	*f = (struct qmp_frame){ .in_value = true };
}

static bool space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

int qmp_frame_step(struct qmp_frame *f, char ch)
{
	if (f->in_string) {
		if (f->escaped)
			f->escaped = false;
		else if (ch == '\\')
			f->escaped = true;
		else if (ch == '"')
			f->in_string = false;
		return !f->in_string && f->depth == 0;
	}
	if (f->scalar && (space(ch) || (ch && strchr("{}[]\"", ch))))
		return -1;
	switch (ch) {
	case '"':
		f->in_string = true;
		return 0;
	case '{': case '[':
		f->depth++;
		return 0;
	case '}': case ']':
		return --f->depth <= 0;
	}
	if (!space(ch) && f->depth == 0)
		f->scalar = true;
	return 0;
}
