/* AML emitter, part two: mutexes, operation regions and their fields,
 * resource templates. The rules and encodings are aml.c's (see aml.h). */
#include "acpi/aml.h"

#include <errno.h>
#include <string.h>

#include "acpi/aml_priv.h"

void aml_mutex(struct aml *a, const char *path, unsigned int sync_level)
{
	static const uint8_t op[] = { 0x5b, 0x01 };

	if (!amlp_stmt_begin(a))
		return;
	if (sync_level > 15) {
		amlp_fail(a, -EINVAL);
		return;
	}
	amlp_emit(a, op, sizeof(op));
	amlp_emit_namestring(a, path);
	amlp_emit_byte(a, (uint8_t)sync_level);
	amlp_term_end(a);
}

void aml_acquire(struct aml *a, const char *mutex, uint16_t timeout_ms)
{
	static const uint8_t op[] = { 0x5b, 0x23 };
	uint8_t t[2];

	/* Not a statement: Acquire returns whether it timed out. */
	if (!amlp_term_begin(a))
		return;
	amlp_emit(a, op, sizeof(op));
	amlp_emit_namestring(a, mutex);
	amlp_put_le(t, timeout_ms, sizeof(t));
	amlp_emit(a, t, sizeof(t));
	amlp_term_end(a);
}

void aml_release(struct aml *a, const char *mutex)
{
	static const uint8_t op[] = { 0x5b, 0x27 };

	if (!amlp_stmt_begin(a))
		return;
	amlp_emit(a, op, sizeof(op));
	amlp_emit_namestring(a, mutex);
	amlp_term_end(a);
}

void aml_op_region(struct aml *a, const char *path, uint8_t space,
		   uint64_t offset, uint64_t len)
{
	static const uint8_t op[] = { 0x5b, 0x80 };
	uint8_t b[9];

	if (!amlp_stmt_begin(a))
		return;
	amlp_emit(a, op, sizeof(op));
	amlp_emit_namestring(a, path);
	amlp_emit_byte(a, space);
	amlp_emit(a, b, amlp_int_encode(b, offset));
	amlp_emit(a, b, amlp_int_encode(b, len));
	amlp_term_end(a);
}

size_t aml_field_begin(struct aml *a, const char *region,
		       enum aml_field_access access, bool lock,
		       enum aml_field_update update)
{
	static const uint8_t op[] = { 0x5b, 0x81 };
	size_t mark;

	if (!amlp_stmt_begin(a))
		return SIZE_MAX;
	if (access > AML_BUFFER_ACC || update > AML_WRITE_AS_ZEROS) {
		amlp_fail(a, -EINVAL);
		return SIZE_MAX;
	}
	mark = amlp_begin(a, op, sizeof(op), K_FIELD);
	amlp_emit_namestring(a, region);
	/* FieldFlags: AccessType 3-0, LockRule 4, UpdateRule 6-5. */
	amlp_emit_byte(a, (uint8_t)(access | (lock ? 0x10 : 0) | update << 5));
	return mark;
}

static struct aml_frame *in_field(struct aml *a)
{
	struct aml_frame *f = amlp_top(a);

	if (a->err)
		return NULL;
	if (!f || f->kind != K_FIELD) {
		amlp_fail(a, -EINVAL);
		return NULL;
	}
	return f;
}

/* A field element: lead (NameSeg or ReservedField 0x00), width in bits as
 * a plain PkgLength. */
static void field_element(struct aml *a, struct aml_frame *f,
			  const char *seg, uint64_t bits)
{
	uint8_t pk[4];
	int npk = -EINVAL;

	if (bits > PKGLEN_MAX)
		npk = -E2BIG;
	else if (bits)
		npk = aml_pkglen_encode(pk, (uint32_t)bits);
	if (npk < 0) {
		amlp_fail(a, npk);
		return;
	}
	if (seg)
		amlp_emit_seg(a, seg, strlen(seg));
	else
		amlp_emit_byte(a, 0x00);
	amlp_emit(a, pk, (size_t)npk);
	f->count += bits;
}

void aml_field_unit(struct aml *a, const char *seg, uint32_t bits)
{
	struct aml_frame *f = in_field(a);

	if (!f)
		return;
	if (!amlp_seg_len(seg) || seg[amlp_seg_len(seg)]) {
		amlp_fail(a, -EINVAL);
		return;
	}
	field_element(a, f, seg, bits);
}

void aml_field_reserved(struct aml *a, uint32_t bits)
{
	struct aml_frame *f = in_field(a);

	if (f)
		field_element(a, f, NULL, bits);
}

void aml_field_offset(struct aml *a, uint32_t byte)
{
	struct aml_frame *f = in_field(a);
	uint64_t bit = (uint64_t)byte * 8;

	if (!f)
		return;
	if (bit < f->count) { /* fields only go forward */
		amlp_fail(a, -EINVAL);
		return;
	}
	if (bit > f->count) /* like iasl: Offset at the current bit is empty */
		field_element(a, f, NULL, bit - f->count);
}

size_t aml_restemplate_begin(struct aml *a)
{
	static const uint8_t op[] = { 0x11 };

	if (!amlp_term_begin(a))
		return SIZE_MAX;
	return amlp_begin(a, op, sizeof(op), K_RESOURCES);
}

static bool in_resources(struct aml *a)
{
	const struct aml_frame *f = amlp_top(a);

	if (a->err)
		return false;
	if (!f || f->kind != K_RESOURCES) {
		amlp_fail(a, -EINVAL);
		return false;
	}
	return true;
}

void aml_res_io(struct aml *a, bool decode16, uint16_t min, uint16_t max,
		uint8_t align, uint8_t len)
{
	uint8_t d[8] = { 0x47, decode16 ? 1 : 0 }; /* small item, 7 bytes */

	if (!in_resources(a))
		return;
	amlp_put_le(d + 2, min, 2);
	amlp_put_le(d + 4, max, 2);
	d[6] = align;
	d[7] = len;
	amlp_emit(a, d, sizeof(d));
}

/* Large address space descriptor: tag, length, resource type, flags, then
 * granularity, min, max, translation, length, each width bytes. */
static void addr_space(struct aml *a, uint8_t tag, uint8_t type,
		       const struct aml_addr_space *r, size_t width)
{
	const uint64_t v[] = { r->granularity, r->min, r->max, r->translation,
			       r->length };
	uint8_t d[6 + 5 * 8] = { tag, 0, 0, type, r->flags, r->type_flags };
	size_t n = 6 + 5 * width;

	if (!in_resources(a))
		return;
	amlp_put_le(d + 1, n - 3, 2);
	for (size_t i = 0; i < 5; i++) {
		if (width < 8 && v[i] >> (8 * width)) {
			amlp_fail(a, -ERANGE);
			return;
		}
		amlp_put_le(d + 6 + i * width, v[i], width);
	}
	amlp_emit(a, d, n);
}

void aml_res_word_io(struct aml *a, const struct aml_addr_space *r)
{
	addr_space(a, 0x88, 1, r, 2);
}

void aml_res_qword_memory(struct aml *a, const struct aml_addr_space *r)
{
	addr_space(a, 0x8a, 0, r, 8);
}

