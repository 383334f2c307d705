/* AML byte-code emitter (ACPI 6.3, chapter 20).
 *
 * AML is prefix notation: an operator is followed by its operands, each of
 * which is a term. The emitter writes terms in that order and keeps a small
 * stack of what is still open, so misuse is caught instead of producing AML
 * that only fails inside the guest:
 *
 *   - an operator with operands (aml_op, aml_call, aml_name_def) expects
 *     exactly that many terms next; closing an enclosing construct while an
 *     operand is missing is an error;
 *   - constructs with a body (Scope, Device, Method, If, Else, While, Package,
 *     Field, ResourceTemplate) start with aml_*_begin, which returns a mark,
 *     and end with aml_end(a, mark) in LIFO order; aml_end writes the
 *     PkgLength (and a Package's element count, a Buffer's size) in front of
 *     the body, moving the body when the length needs more than one byte;
 *   - field elements only go in a Field, resource descriptors only in a
 *     ResourceTemplate, terms never in either.
 *
 * Errors stick: the first one is remembered, every later call does nothing,
 * and aml_finish returns it. A builder therefore makes all its calls and
 * checks once.
 *
 *   size_t m = aml_method_begin(a, "MSCN", 0, true);
 *   aml_op(a, AML_STORE); aml_int(a, 0); aml_local(a, 0);
 *   size_t w = aml_while_begin(a);
 *   aml_op(a, AML_LLESS); aml_local(a, 0); aml_name(a, "MDNR");
 *   aml_op(a, AML_INCREMENT); aml_local(a, 0);
 *   aml_end(a, w);
 *   aml_end(a, m);
 *   int err = aml_finish(a);
 */
#ifndef MEMPLUG_ACPI_AML_H
#define MEMPLUG_ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 32 /* open constructs + pending operators */

struct aml_frame {
	uint8_t kind;
	size_t pos;	/* body start: where aml_end inserts the PkgLength */
	uint64_t count; /* operands still due, elements so far or field bit */
};

struct aml {
	uint8_t *buf;
	size_t len, cap;
	int err; /* first error (negative errno), 0 while all is well */
	size_t if_end; /* where the last If ended: the only place for an Else */
	unsigned int depth;
	struct aml_frame stack[AML_MAX_DEPTH];
};

/* Operators whose operands are all terms, emitted next in ASL order
 * (a target, where the operator has one, comes last: a Local, an Arg, a
 * name, or aml_no_target). */
enum aml_opcode {
	AML_STORE,	/* Store (source, destination) */
	AML_ADD,	/* Add (a, b, target) */
	AML_SUBTRACT,	/* Subtract (a, b, target) */
	AML_INCREMENT,	/* Increment (operand) */
	AML_AND,	/* And (a, b, target) */
	AML_OR,		/* Or (a, b, target) */
	AML_SHIFT_LEFT, /* ShiftLeft (value, count, target) */
	AML_LAND,	/* LAnd (a, b) */
	AML_LEQUAL,	/* LEqual (a, b) */
	AML_LLESS,	/* LLess (a, b) */
	AML_LNOT,	/* LNot (a) */
	AML_NOTIFY,	/* Notify (object, value) */
	AML_RETURN,	/* Return (value) */
	/* CreateDWordField (buffer, byte index, name) and the QWord one: the
	 * last operand is the new field's name, given with aml_name. They
	 * create a named object, so a method using them must be Serialized. */
	AML_CREATE_DWORD_FIELD,
	AML_CREATE_QWORD_FIELD,
};

/* OperationRegion spaces; the same numbers are the Generic Address
 * Structure's address space ids. */
#define AML_SPACE_MEMORY 0
#define AML_SPACE_IO 1

enum aml_field_access {
	AML_ANY_ACC,
	AML_BYTE_ACC,
	AML_WORD_ACC,
	AML_DWORD_ACC,
	AML_QWORD_ACC,
	AML_BUFFER_ACC,
};

enum aml_field_update {
	AML_PRESERVE,
	AML_WRITE_AS_ONES,
	AML_WRITE_AS_ZEROS,
};

/* Address space descriptor general flags (WordIO, QWordMemory). */
#define AML_RES_CONSUMER 0x1   /* else ResourceProducer */
#define AML_RES_SUB_DECODE 0x2 /* else PosDecode */
#define AML_RES_MIN_FIXED 0x4
#define AML_RES_MAX_FIXED 0x8
/* QWordMemory type-specific flags. */
#define AML_MEM_READ_WRITE 0x1
#define AML_MEM_CACHEABLE 0x2
#define AML_MEM_PREFETCHABLE 0x6
/* WordIO type-specific flags. */
#define AML_IO_NON_ISA_ONLY 0x1
#define AML_IO_ISA_ONLY 0x2
#define AML_IO_ENTIRE_RANGE 0x3

/* Fields of an address space descriptor, as in the ASL macros. */
struct aml_addr_space {
	uint8_t flags;	    /* AML_RES_* */
	uint8_t type_flags; /* AML_MEM_* or AML_IO_* */
	uint64_t granularity, min, max, translation, length;
};

void aml_init(struct aml *a);
/* 0, the first error, or -EINVAL if a construct or operator is still open. */
int aml_finish(struct aml *a);
void aml_free(struct aml *a);

/* Encode value as a PkgLength of 1-4 bytes into out; returns the byte
 * count, or -E2BIG above 2^28 - 1. This is the raw encoding, as used for
 * field widths; aml_end computes body lengths that include their own
 * encoding. */
int aml_pkglen_encode(uint8_t out[4], uint32_t value);

/* Data. */
void aml_int(struct aml *a, uint64_t v); /* smallest of Zero/One/Ones/Byte/... */
void aml_string(struct aml *a, const char *s);
void aml_buffer(struct aml *a, const void *data, size_t len);
void aml_eisaid(struct aml *a, const char *id); /* "PNP0C80" as an integer */
size_t aml_package_begin(struct aml *a);	/* element count is filled in */

/* Names are ASL paths: "_SB", "\\_SB.MHPC", "^^MP00"; segments shorter
 * than four characters are padded with '_'. */
void aml_name(struct aml *a, const char *path);	/* reference to an object */
void aml_call(struct aml *a, const char *path, unsigned int nargs);
void aml_local(struct aml *a, unsigned int n);	/* Local0..Local7 */
void aml_arg(struct aml *a, unsigned int n);	/* Arg0..Arg6 */
void aml_no_target(struct aml *a);		/* result not stored */
void aml_op(struct aml *a, enum aml_opcode op);

/* Named objects. */
void aml_name_def(struct aml *a, const char *path); /* Name (path, <next term>) */
size_t aml_scope_begin(struct aml *a, const char *path);
size_t aml_device_begin(struct aml *a, const char *path);
size_t aml_method_begin(struct aml *a, const char *path, unsigned int nargs,
			bool serialized);
void aml_mutex(struct aml *a, const char *path, unsigned int sync_level);
void aml_acquire(struct aml *a, const char *mutex, uint16_t timeout_ms);
void aml_release(struct aml *a, const char *mutex);
void aml_op_region(struct aml *a, const char *path, uint8_t space,
		   uint64_t offset, uint64_t len);
size_t aml_field_begin(struct aml *a, const char *region,
		       enum aml_field_access access, bool lock,
		       enum aml_field_update update);
void aml_field_unit(struct aml *a, const char *seg, uint32_t bits);
void aml_field_reserved(struct aml *a, uint32_t bits);
void aml_field_offset(struct aml *a, uint32_t byte); /* ASL Offset (byte) */

/* Control flow: If and While take their predicate as the next term, then
 * the body; an Else body must directly follow an If. */
size_t aml_if_begin(struct aml *a);
size_t aml_else_begin(struct aml *a);
size_t aml_while_begin(struct aml *a);

/* ResourceTemplate: a Buffer of descriptors; aml_end adds the EndTag. */
size_t aml_restemplate_begin(struct aml *a);
void aml_res_io(struct aml *a, bool decode16, uint16_t min, uint16_t max,
		uint8_t align, uint8_t len);
void aml_res_word_io(struct aml *a, const struct aml_addr_space *r);
void aml_res_qword_memory(struct aml *a, const struct aml_addr_space *r);

/* Close the construct whose aml_*_begin returned mark. */
void aml_end(struct aml *a, size_t mark);

#endif
