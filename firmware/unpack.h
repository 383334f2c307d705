/* A bzImage's compressed kernel, unpacked on the host: the decompressor a
 * distribution kernel carries otherwise runs inside the guest on every
 * boot, at guest speed. The payload (setup header's payload_offset and
 * payload_length, boot protocol 2.08+) is the stripped vmlinux ELF with its
 * relocation table behind it, compressed; the kernel's build appends the
 * uncompressed size as 4 little-endian bytes. Pure: bytes in, bytes out. */
#ifndef MEMPLUG_FIRMWARE_UNPACK_H
#define MEMPLUG_FIRMWARE_UNPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum unpack_format {
	UNPACK_UNKNOWN, UNPACK_GZIP, UNPACK_XZ, UNPACK_ZSTD, UNPACK_LZ4,
	UNPACK_BZIP2, UNPACK_LZMA, UNPACK_LZO,
};

/* The largest kernel memplug unpacks: far above any x86 vmlinux. */
#define UNPACK_MAX (512u << 20)

/* The setup header's length: enough of a file to tell a bzImage. */
#define UNPACK_HDR_LEN 0x250

/* Whether the file's first len bytes (at least UNPACK_HDR_LEN) are a
 * bzImage's: the "HdrS" magic of the setup header. */
bool unpack_is_bzimage(const uint8_t *hdr, size_t len);
/* The payload of a bzImage in img. Returns 0, or -ENOEXEC with a message
 * (not a bzImage, protocol before 2.08, payload outside the file). */
int unpack_payload(const uint8_t *img, size_t len, const uint8_t **payload,
		   size_t *payload_len, char *err, size_t errlen);
/* The payload's format from its magic bytes. */
enum unpack_format unpack_format_of(const uint8_t *p, size_t len);
const char *unpack_format_name(enum unpack_format f);
/* Decompresses a payload into *out (malloc'd, *out_len bytes, an ELF).
 * Returns 0; -ENOTSUP for a format memplug leaves to the guest's own
 * decompressor (bzip2, lzma, lzo, unknown); -EINVAL for a corrupt payload
 * or one that is not an ELF once unpacked; -ENOMEM. err says which. */
int unpack_kernel(const uint8_t *payload, size_t len, uint8_t **out,
		  size_t *out_len, char *err, size_t errlen);

#endif
