/* gzip.c - gzip framing (RFC 1952) around deflate_compress().
 *
 * Design
 *   A member is a 10-byte header, the raw DEFLATE stream and an 8-byte trailer:
 *
 *     +---+---+---+---+---+---+---+---+---+---+========//========+---+---+---+---+---+---+---+---+
 *     |ID1|ID2|CM |FLG|     MTIME     |XFL|OS | DEFLATE data     |     CRC32     |     ISIZE     |
 *     +---+---+---+---+---+---+---+---+---+---+========//========+---+---+---+---+---+---+---+---+
 *
 *   ID1 ID2 = 1f 8b, CM = 8 (deflate), FLG = 0 (no optional fields), MTIME = 0
 *   (no time: responses should not depend on the clock), XFL = 2 at level 9
 *   and 4 at level 1 as RFC 1952 2.3.1 suggests, OS = 255 (unknown). The
 *   trailer holds the CRC-32 of the uncompressed data and its length modulo
 *   2^32, both little-endian. The DEFLATE stream is written straight into the
 *   caller's buffer after the header, so nothing is copied.
 *
 * References
 *   RFC 1952, GZIP file format specification version 4.3.
 *   RFC 9110 section 8.4.1.3 (the gzip content coding).
 */
#include "gzip.h"

#include <stdint.h>

#include "crc32.h"
#include "deflate.h"

#define GZIP_HEADER_LEN  10
#define GZIP_TRAILER_LEN 8

static void
gzip_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

size_t
gzip_compress(const void *in, size_t n, void *out, size_t cap, int level)
{
    uint8_t *o = out;

    if (cap < GZIP_HEADER_LEN + GZIP_TRAILER_LEN)
        return 0;
    if (level < 0)
        level = DEFLATE_DEFAULT_LEVEL;
    o[0] = 0x1f;
    o[1] = 0x8b;
    o[2] = 8;
    o[3] = 0;
    gzip_put_le32(o + 4, 0);
    o[8] = level >= DEFLATE_MAX_LEVEL ? 2 : level == DEFLATE_MIN_LEVEL ? 4 : 0;
    o[9] = 255;

    size_t len = deflate_compress(in, n, o + GZIP_HEADER_LEN,
                                  cap - GZIP_HEADER_LEN - GZIP_TRAILER_LEN, level);
    if (len == 0)
        return 0;
    o += GZIP_HEADER_LEN + len;
    gzip_put_le32(o, crc32_update(0, in, n));
    gzip_put_le32(o + 4, (uint32_t)n);
    return GZIP_HEADER_LEN + len + GZIP_TRAILER_LEN;
}

size_t
gzip_bound(size_t n)
{
    size_t b = deflate_bound(n);
    return b > SIZE_MAX - (GZIP_HEADER_LEN + GZIP_TRAILER_LEN)
               ? SIZE_MAX
               : b + GZIP_HEADER_LEN + GZIP_TRAILER_LEN;
}
