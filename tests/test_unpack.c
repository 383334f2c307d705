/* firmware/unpack.c: bzImage payloads of every format the kernel builds,
 * made here with the same libraries, unpacked back to the ELF inside. */
#include <elf.h>
#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "firmware/unpack.h"
#include "tests/unit.h"

#define KERNEL_LEN (3u << 20)
#define SETUP_SECTS 4

static uint8_t kernel[KERNEL_LEN];
static char err[256];

static uint32_t rnd(uint32_t *x)
{
	*x = *x * 1103515245u + 12345u;
	return *x >> 8;
}

/* A vmlinux stand-in that compresses as code does, by repeats (lz4 has
 * nothing else): 256-byte blocks, each an earlier one with a byte or two
 * changed; ELF magic in front. */
static void make_kernel(void)
{
	uint32_t x = 12345;

	for (size_t i = 0; i < 256; i++)
		kernel[i] = (uint8_t)rnd(&x);
	for (size_t b = 256; b < KERNEL_LEN; b += 256) {
		memcpy(kernel + b, kernel + (rnd(&x) % (b / 256)) * 256, 256);
		kernel[b + rnd(&x) % 256] = (uint8_t)rnd(&x);
	}
	memcpy(kernel, ELFMAG, SELFMAG);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The compressed kernel with the build's size trailer, in a bzImage. */
static uint8_t *wrap(const uint8_t *z, size_t zlen, size_t *len)
{
	size_t setup = (SETUP_SECTS + 1) * 512, off = 0x100;
	uint8_t *img = calloc(1, setup + off + zlen + 4);

	img[0x1f1] = SETUP_SECTS;
	memcpy(img + 0x202, "HdrS", 4);
	img[0x206] = 0x0f; /* protocol 2.15 */
	img[0x207] = 0x02;
	put_le32(img + 0x248, (uint32_t)off);
	put_le32(img + 0x24c, (uint32_t)(zlen + 4));
	memcpy(img + setup + off, z, zlen);
	put_le32(img + setup + off + zlen, KERNEL_LEN);
	*len = setup + off + zlen + 4;
	return img;
}

static size_t gzip_it(uint8_t *out, size_t cap)
{
	z_stream z = { .next_in = kernel, .avail_in = KERNEL_LEN,
		       .next_out = out, .avail_out = (uInt)cap };

	deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	deflate(&z, Z_FINISH);
	deflateEnd(&z);
	return z.total_out;
}

static size_t xz_it(uint8_t *out, size_t cap)
{
	size_t n = 0;

	lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, kernel, KERNEL_LEN,
				out, &n, cap);
	return n;
}

/* With the frame checksum, as the zstd tool writes it by default. */
static size_t zstd_it(uint8_t *out, size_t cap)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	size_t n;

	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 19);
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	n = ZSTD_compress2(c, out, cap, kernel, KERNEL_LEN);
	ZSTD_freeCCtx(c);
	return ZSTD_isError(n) ? 0 : n;
}

/* The legacy frame of `lz4 -l`: magic, then (length, block) pairs of at
 * most 8 MiB of input each; 1 MiB blocks here to make several. */
static size_t lz4_it(uint8_t *out, size_t cap)
{
	size_t n = 4;

	put_le32(out, 0x184c2102u);
	for (size_t in = 0; in < KERNEL_LEN; in += 1u << 20) {
		int c = LZ4_compress_default((const char *)kernel + in,
					     (char *)out + n + 4, 1 << 20,
					     (int)(cap - n - 4));

		put_le32(out + n, (uint32_t)c);
		n += 4 + (size_t)c;
	}
	return n;
}

static void check_format(size_t (*compress)(uint8_t *, size_t),
			 enum unpack_format f)
{
	static uint8_t z[KERNEL_LEN + 65536];
	const uint8_t *payload;
	uint8_t *img, *elf = NULL;
	size_t zlen, len, plen, elen = 0;

	make_kernel();
	zlen = compress(z, sizeof(z));
	CHECK(zlen > 0 && zlen < KERNEL_LEN);
	img = wrap(z, zlen, &len);
	CHECK_EQ(unpack_payload(img, len, &payload, &plen, err, sizeof(err)), 0);
	CHECK_EQ(plen, zlen + 4);
	CHECK_EQ(unpack_format_of(payload, plen), f);
	CHECK_EQ(unpack_kernel(payload, plen, &elf, &elen, err, sizeof(err)), 0);
	CHECK_EQ(elen, KERNEL_LEN);
	CHECK(!memcmp(elf, kernel, KERNEL_LEN));
	free(elf);
	/* A flipped byte is refused: in the middle of the stream for the
	 * formats with a checksum, in the first block's length for lz4 (which
	 * has none; the guest's decompressor would not notice either). */
	img[f == UNPACK_LZ4 ? len - 4 - zlen + 5 : len - 4 - zlen / 2] ^= 0x55;
	CHECK_EQ(unpack_kernel(payload, plen, &elf, &elen, err, sizeof(err)),
		 -EINVAL);
	free(img);
}

static void unpacks_gzip(void) { check_format(gzip_it, UNPACK_GZIP); }
static void unpacks_xz(void) { check_format(xz_it, UNPACK_XZ); }
static void unpacks_zstd(void) { check_format(zstd_it, UNPACK_ZSTD); }
static void unpacks_lz4_legacy(void) { check_format(lz4_it, UNPACK_LZ4); }

static void refusals(void)
{
	static const uint8_t bz2[] = { 'B', 'Z', 'h', '9', 1, 2, 3, 4 };
	uint8_t z[64], *img, *elf;
	const uint8_t *payload;
	size_t len, plen, elen;

	/* Formats left to the guest's decompressor. */
	img = wrap(bz2, sizeof(bz2), &len);
	CHECK_EQ(unpack_payload(img, len, &payload, &plen, err, sizeof(err)), 0);
	CHECK_EQ(unpack_kernel(payload, plen, &elf, &elen, err, sizeof(err)),
		 -ENOTSUP);
	CHECK_STR(err, "has a bzip2 payload, which memplug does not unpack "
		       "(it does gzip, xz, zstd and lz4)");
	/* A size trailer beyond any kernel. */
	put_le32(img + len - 4, 0xffffffffu);
	memcpy(img + len - 4 - sizeof(bz2), "\x1f\x8b", 2);
	CHECK_EQ(unpack_kernel(payload, plen, &elf, &elen, err, sizeof(err)),
		 -EINVAL);
	CHECK_STR(err, "says its gzip payload unpacks to 4294967295 bytes "
		       "(at most 536870912)");
	/* A payload that unpacks to something other than an ELF. */
	memset(kernel, 'A', sizeof(kernel));
	free(img);
	len = ZSTD_compress(z, sizeof(z), kernel, 64, 1);
	img = wrap(z, len, &len);
	put_le32(img + len - 4, 64);
	CHECK_EQ(unpack_payload(img, len, &payload, &plen, err, sizeof(err)), 0);
	CHECK_EQ(unpack_kernel(payload, plen, &elf, &elen, err, sizeof(err)),
		 -EINVAL);
	CHECK_STR(err, "has a zstd payload that does not unpack to an ELF "
		       "kernel of the 64 bytes it names");
	/* The header's payload must lie in the file. */
	put_le32(img + 0x24c, 1u << 30);
	CHECK_EQ(unpack_payload(img, len, &payload, &plen, err, sizeof(err)),
		 -ENOEXEC);
	img[0x206] = 0x07;
	CHECK_EQ(unpack_payload(img, len, &payload, &plen, err, sizeof(err)),
		 -ENOEXEC);
	CHECK_STR(err, "has boot protocol 2.07, before 2.08 names its payload");
	memcpy(img + 0x202, "Hdr?", 4);
	CHECK_EQ(unpack_payload(img, len, &payload, &plen, err, sizeof(err)),
		 -ENOEXEC);
	free(img);
}

UNIT_MAIN(UNIT_CASE(unpacks_gzip), UNIT_CASE(unpacks_xz),
	  UNIT_CASE(unpacks_zstd), UNIT_CASE(unpacks_lz4_legacy),
	  UNIT_CASE(refusals))
