/*
 * CRC-32 of IEEE 802.3 as zlib computes it (reflected polynomial 0xEDB88320, initial value
 * and final xor 0xFFFFFFFF): "123456789" gives 0xCBF43926. A 16-entry table (64 bytes):
 * small for a board, and fast enough for frames of a few kilobytes.
 */
#ifndef GLE_CRC32_H
#define GLE_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC: start with crc = 0 (gle_crc32_update(0, ...) is the CRC of the bytes). */
uint32_t gle_crc32_update(uint32_t crc, const uint8_t *data, size_t len);
uint32_t gle_crc32(const uint8_t *data, size_t len);

#endif
