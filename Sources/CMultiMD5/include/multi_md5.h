#ifndef MULTI_MD5_H
#define MULTI_MD5_H

/*
 * Multi-buffer MD5: each SIMD lane hashes a different message.
 *
 * The state holds MULTI_MD5_MAX_LANES independent (a, b, c, d) chaining
 * values in structure-of-arrays layout. multi_md5_blocks compresses blocks
 * for every lane whose block pointer is non-NULL and leaves the other lanes
 * untouched, so a scheduler can feed lanes independently and start a new
 * message on a lane (multi_md5_init_lane) while other lanes are mid-message.
 *
 * Widths name the kernel: 1 = scalar, 4 = SSE2 (4 x 32-bit lanes per
 * __m128i), 8 = AVX2 (8 lanes per __m256i), 9 = AVX-512VL (8 lanes per
 * __m256i too, with its rotate and ternary-logic instructions), 16 = AVX2 on
 * two groups of 8 lanes at once, 17 = AVX-512VL on two groups (16 lanes). A
 * width names the kernel: 9 has 8 lanes, 17 has 16. Any kernel accepts any set of
 * active lanes among the MULTI_MD5_MAX_LANES; SSE2 runs lanes 0-3 and 4-7 as
 * two groups, skipping a group with no active lane. A width the CPU does not
 * support falls back to the scalar kernel.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MULTI_MD5_MAX_LANES 16
#define MULTI_MD5_BLOCK_SIZE 64
#define MULTI_MD5_DIGEST_SIZE 16
/* Padding appended to a message is at most one 0x80 byte, 63 zero bytes and the 8-byte length. */
#define MULTI_MD5_MAX_PADDING 72

typedef struct multi_md5_state {
    uint32_t a[MULTI_MD5_MAX_LANES];
    uint32_t b[MULTI_MD5_MAX_LANES];
    uint32_t c[MULTI_MD5_MAX_LANES];
    uint32_t d[MULTI_MD5_MAX_LANES];
} multi_md5_state;

enum {
    MULTI_MD5_WIDTH_SCALAR = 1,
    MULTI_MD5_WIDTH_SSE2 = 4,
    MULTI_MD5_WIDTH_AVX2 = 8,
    MULTI_MD5_WIDTH_AVX512VL = 9,
    MULTI_MD5_WIDTH_AVX2_X2 = 16,
    MULTI_MD5_WIDTH_AVX512VL_X2 = 17,
};

/* True when this CPU can run the kernel of the given width (1, 4, 8, 9, 16 or 17). */
bool multi_md5_width_supported(int width);

/* The widest kernel this CPU supports. */
int multi_md5_best_width(void);

/* Sets every lane, or one lane, to the MD5 initial value. */
void multi_md5_init(multi_md5_state *state);
void multi_md5_init_lane(multi_md5_state *state, int lane);

/*
 * Compresses nblocks consecutive 64-byte blocks starting at blocks[lane] for
 * each lane with a non-NULL pointer, using the kernel of the given width.
 * Block data needs no alignment.
 */
void multi_md5_blocks(multi_md5_state *state, int width,
                      const uint8_t *const blocks[MULTI_MD5_MAX_LANES],
                      size_t nblocks);

/*
 * Writes the MD5 padding for a message of total_length bytes to padding and
 * returns its size (9...72). Appending it to the message makes a whole number
 * of blocks.
 */
size_t multi_md5_padding(uint64_t total_length, uint8_t padding[MULTI_MD5_MAX_PADDING]);

/* Writes the digest held by a lane (after its padded message was compressed). */
void multi_md5_lane_digest(const multi_md5_state *state, int lane,
                           uint8_t digest[MULTI_MD5_DIGEST_SIZE]);

/*
 * Finishes one lane with the scalar kernel: compresses the final tail_length
 * (< 64) bytes of a message of total_length bytes plus its padding, then
 * writes the digest. Other lanes are untouched.
 */
void multi_md5_finish_lane(multi_md5_state *state, int lane,
                           const uint8_t *tail, size_t tail_length,
                           uint64_t total_length,
                           uint8_t digest[MULTI_MD5_DIGEST_SIZE]);

#ifdef __cplusplus
}
#endif

#endif
