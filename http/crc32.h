/* crc32.h - CRC-32 as used by gzip, zip and Ethernet (IEEE 802.3, ITU-T V.42).
 *
 * The reflected CRC with polynomial 0xEDB88320, initial value 0xFFFFFFFF and a
 * final inversion; the check value of "123456789" is 0xCBF43926. */
#ifndef CRC32_H
#define CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Returns the CRC-32 of the bytes already summed into crc followed by
 * data[0..len). Start with crc = 0; the pre- and post-inversion happen inside,
 * so chunks chain: crc32_update(crc32_update(0, a, na), b, nb) is the CRC of
 * a followed by b. data may be NULL when len is 0. Thread-safe: the lookup
 * tables are built once, on first use, under pthread_once. */
uint32_t crc32_update(uint32_t crc, const void *data, size_t len);

#endif
