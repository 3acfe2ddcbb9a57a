/* crc32.c - table-driven CRC-32 (reflected, polynomial 0xEDB88320), slicing by 8.
 *
 * Design
 *   A reflected CRC processes the message least significant bit first, so one
 *   step over a byte b is
 *
 *       crc = (crc >> 8) ^ T0[(crc ^ b) & 0xff]
 *
 *   where T0[i] is the remainder of i alone (eight shift-and-xor rounds). That
 *   costs one dependent table load per byte. Slicing by 8 breaks the chain:
 *   Tk[i] is the remainder of byte i followed by k zero bytes, so eight input
 *   bytes (the first four xored with the running CRC) are looked up in eight
 *   independent tables and the results xored, one load per byte but eight in
 *   flight. Tk is derived from T(k-1) by pushing one more zero byte through:
 *
 *       Tk[i] = (T(k-1)[i] >> 8) ^ T0[T(k-1)[i] & 0xff]
 *
 *   The 8 KiB of tables are computed on first use under pthread_once, which is
 *   cheaper to read than 2048 literal constants and safe when several threads
 *   start at once. Loads are assembled from bytes, so the code does not care
 *   about alignment or host byte order; compilers turn them into plain loads.
 *
 * References
 *   ISO 3309 / ITU-T V.42 (the polynomial); RFC 1952 section 8 (gzip's use and
 *   a bytewise sample implementation).
 *   R. N. Williams, "A Painless Guide to CRC Error Detection Algorithms", 1993.
 *   M. E. Kounavis, F. L. Berry, "Novel Table Lookup-Based Algorithms for
 *   High-Performance CRC Generation", IEEE Trans. Computers 57(11), 2008.
 */
#include "crc32.h"

#include <pthread.h>

#define CRC32_POLY 0xEDB88320u

static uint32_t crc32_table[8][256];
static pthread_once_t crc32_once = PTHREAD_ONCE_INIT;

static void
crc32_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (CRC32_POLY & (0u - (c & 1)));
        crc32_table[0][i] = c;
    }
    for (int t = 1; t < 8; t++) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = crc32_table[t - 1][i];
            crc32_table[t][i] = (c >> 8) ^ crc32_table[0][c & 0xff];
        }
    }
}

static inline uint32_t
crc32_load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t
crc32_update(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t(*t)[256] = crc32_table;

    pthread_once(&crc32_once, crc32_init);
    crc = ~crc;
    for (; len >= 8; p += 8, len -= 8) {
        uint32_t lo = crc32_load_le32(p) ^ crc;
        uint32_t hi = crc32_load_le32(p + 4);
        /* The byte at offset j is followed by 7 - j more, hence table 7 - j. */
        crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
              t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
    }
    for (; len > 0; p++, len--)
        crc = (crc >> 8) ^ t[0][(crc ^ *p) & 0xff];
    return ~crc;
}
