#include "firmware/unpack.h"

#include <elf.h>
#include <errno.h>
#include <lz4.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

/* Setup header fields (Documentation/arch/x86/boot.rst). */
#define HDR_SETUP_SECTS 0x1f1
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_PAYLOAD_OFFSET 0x248
#define HDR_PAYLOAD_LENGTH 0x24c
#define HDR_END UNPACK_HDR_LEN
#define PROTOCOL_PAYLOAD 0x0208

/* The kernel's lz4 is the legacy frame: this magic, then blocks, each a
 * 32-bit compressed length and at most 8 MiB once decompressed. */
#define LZ4_LEGACY_MAGIC 0x184c2102u
#define LZ4_LEGACY_BLOCK (8u << 20)

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

bool unpack_is_bzimage(const uint8_t *hdr, size_t len)
{
	return len >= HDR_END && !memcmp(hdr + HDR_MAGIC, "HdrS", 4);
}

int unpack_payload(const uint8_t *img, size_t len, const uint8_t **payload,
		   size_t *payload_len, char *err, size_t errlen)
{
	uint64_t setup, off, plen;

	if (!unpack_is_bzimage(img, len)) {
		snprintf(err, errlen, "is not a bzImage (no \"HdrS\" header)");
		return -ENOEXEC;
	}
	if ((img[HDR_VERSION] | img[HDR_VERSION + 1] << 8) < PROTOCOL_PAYLOAD) {
		snprintf(err, errlen, "has boot protocol %u.%02u, before 2.08 "
			 "names its payload", img[HDR_VERSION + 1],
			 img[HDR_VERSION]);
		return -ENOEXEC;
	}
	setup = ((uint64_t)(img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4) +
		 1) * 512;
	off = setup + le32(img + HDR_PAYLOAD_OFFSET);
	plen = le32(img + HDR_PAYLOAD_LENGTH);
	if (plen < 8 || off > len || plen > len - off) {
		snprintf(err, errlen, "names a payload of %llu bytes at %llu, "
			 "outside its %zu bytes", (unsigned long long)plen,
			 (unsigned long long)off, len);
		return -ENOEXEC;
	}
	*payload = img + off;
	*payload_len = (size_t)plen;
	return 0;
}

enum unpack_format unpack_format_of(const uint8_t *p, size_t len)
{
	static const struct {
		enum unpack_format f;
		uint8_t n, magic[6];
	} m[] = {
		{ UNPACK_GZIP, 2, { 0x1f, 0x8b } },
		{ UNPACK_XZ, 6, { 0xfd, '7', 'z', 'X', 'Z', 0 } },
		{ UNPACK_ZSTD, 4, { 0x28, 0xb5, 0x2f, 0xfd } },
		{ UNPACK_LZ4, 4, { 0x02, 0x21, 0x4c, 0x18 } },
		{ UNPACK_BZIP2, 3, { 'B', 'Z', 'h' } },
		{ UNPACK_LZMA, 3, { 0x5d, 0, 0 } },
		{ UNPACK_LZO, 4, { 0x89, 'L', 'Z', 'O' } },
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (len >= m[i].n && !memcmp(p, m[i].magic, m[i].n))
			return m[i].f;
	return UNPACK_UNKNOWN;
}

const char *unpack_format_name(enum unpack_format f)
{
	static const char *const names[] = {
		[UNPACK_UNKNOWN] = "unknown", [UNPACK_GZIP] = "gzip",
		[UNPACK_XZ] = "xz", [UNPACK_ZSTD] = "zstd", [UNPACK_LZ4] = "lz4",
		[UNPACK_BZIP2] = "bzip2", [UNPACK_LZMA] = "lzma",
		[UNPACK_LZO] = "lzo",
	};

	return names[f];
}

/* Each returns 0 when exactly n bytes came out. */
static int gunzip(const uint8_t *in, size_t len, uint8_t *out, size_t n)
{
	z_stream z = { .next_in = (Bytef *)in, .avail_in = (uInt)len,
		       .next_out = out, .avail_out = (uInt)n };
	int r;

	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	r = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	return r == Z_STREAM_END && z.total_out == n ? 0 : -EINVAL;
}

static int unxz(const uint8_t *in, size_t len, uint8_t *out, size_t n)
{
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret r;

	if (lzma_stream_decoder(&s, UINT64_MAX, 0) != LZMA_OK)
		return -ENOMEM;
	s.next_in = in;
	s.avail_in = len;
	s.next_out = out;
	s.avail_out = n;
	r = lzma_code(&s, LZMA_FINISH);
	lzma_end(&s);
	return r == LZMA_STREAM_END && s.total_out == n ? 0 : -EINVAL;
}

static int unzstd(const uint8_t *in, size_t len, uint8_t *out, size_t n)
{
	size_t r = ZSTD_decompress(out, n, in, len);

	return !ZSTD_isError(r) && r == n ? 0 : -EINVAL;
}

static int unlz4(const uint8_t *in, size_t len, uint8_t *out, size_t n)
{
	size_t off = 4, done = 0;

	while (off + 4 <= len) {
		uint32_t c = le32(in + off);
		int d;

		off += 4;
		if (c == LZ4_LEGACY_MAGIC) /* a concatenated stream */
			continue;
		if (c > len - off || c > (uint32_t)LZ4_compressBound(LZ4_LEGACY_BLOCK))
			return -EINVAL;
		d = LZ4_decompress_safe((const char *)in + off,
					(char *)out + done, (int)c,
					(int)(n - done < LZ4_LEGACY_BLOCK
						      ? n - done : LZ4_LEGACY_BLOCK));
		if (d < 0)
			return -EINVAL;
		done += (size_t)d;
		off += c;
	}
	return off == len && done == n ? 0 : -EINVAL;
}

int unpack_kernel(const uint8_t *payload, size_t len, uint8_t **out,
		  size_t *out_len, char *err, size_t errlen)
{
	enum unpack_format f = unpack_format_of(payload, len);
	uint32_t n;
	uint8_t *buf;
	int r;

	if (f == UNPACK_UNKNOWN || f == UNPACK_BZIP2 || f == UNPACK_LZMA ||
	    f == UNPACK_LZO) {
		snprintf(err, errlen, "has a %s payload, which memplug does not "
			 "unpack (it does gzip, xz, zstd and lz4)",
			 unpack_format_name(f));
		return -ENOTSUP;
	}
	/* The build appends the uncompressed size. */
	n = le32(payload + len - 4);
	if (n < sizeof(Elf64_Ehdr) || n > UNPACK_MAX) {
		snprintf(err, errlen, "says its %s payload unpacks to %u bytes "
			 "(at most %u)", unpack_format_name(f), n, UNPACK_MAX);
		return -EINVAL;
	}
	buf = malloc(n);
	if (!buf) {
		snprintf(err, errlen, "no memory to unpack %u bytes", n);
		return -ENOMEM;
	}
	len -= 4;
	r = f == UNPACK_GZIP ? gunzip(payload, len, buf, n)
	    : f == UNPACK_XZ ? unxz(payload, len, buf, n)
	    : f == UNPACK_ZSTD ? unzstd(payload, len, buf, n)
			       : unlz4(payload, len, buf, n);
	if (r == 0 && memcmp(buf, ELFMAG, SELFMAG))
		r = -EINVAL;
	if (r < 0) {
		snprintf(err, errlen, "has a %s payload that does not unpack to "
			 "an ELF kernel of the %u bytes it names%s",
			 unpack_format_name(f), n,
			 r == -ENOMEM ? " (no memory for the decoder)" : "");
		free(buf);
		return r;
	}
	*out = buf;
	*out_len = n;
	return 0;
}
