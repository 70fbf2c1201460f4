#include "gle_crc32.h"

uint32_t gle_crc32_update(uint32_t crc, const uint8_t *data, size_t len) {
    size_t i;
    crc = ~crc;
    for (i = 0; i < len; i++) {
        unsigned k;
        crc ^= data[i];
        for (k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

uint32_t gle_crc32(const uint8_t *data, size_t len) { return gle_crc32_update(0, data, len); }
