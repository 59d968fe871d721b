#include "multi_md5.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define MULTI_MD5_X86 1
#include <immintrin.h>
#else
#define MULTI_MD5_X86 0
#endif

#define MD5_INIT_A 0x67452301u
#define MD5_INIT_B 0xefcdab89u
#define MD5_INIT_C 0x98badcfeu
#define MD5_INIT_D 0x10325476u

/*
 * The 64 MD5 steps, written once and expanded by every kernel. A kernel
 * defines V_T (its vector type), V_ADD, V_ADDK (add a 32-bit constant),
 * V_ROTL, V_AND, V_ANDNOT (~x & y), V_F, V_H, V_I and W(i), the i-th message
 * word of the block. Adding the constant and message word to `a` first keeps
 * that work off the dependency chain through `b`.
 */
#define MD5_STEP(FN, a, b, c, d, i, k, s)                              \
    do {                                                               \
        const V_T sum = V_ADD(V_ADDK(V_ADD(a, W(i)), k), FN(b, c, d)); \
        a = V_ADD(b, V_ROTL(sum, s));                                  \
    } while (0)

/*
 * Round 2 uses G = (b & d) | (~d & c). The two terms share no bits, so they
 * are added one at a time, which shortens the chain through `b`.
 */
#define MD5_STEP_G(a, b, c, d, i, k, s)                                           \
    do {                                                                          \
        const V_T partial = V_ADD(V_ADDK(V_ADD(a, W(i)), k), V_ANDNOT(d, c));     \
        const V_T sum = V_ADD(partial, V_AND(b, d));                              \
        a = V_ADD(b, V_ROTL(sum, s));                                             \
    } while (0)

#define MD5_64_STEPS(a, b, c, d)                          \
    MD5_STEP(V_F, a, b, c, d, 0, 0xd76aa478u, 7);         \
    MD5_STEP(V_F, d, a, b, c, 1, 0xe8c7b756u, 12);        \
    MD5_STEP(V_F, c, d, a, b, 2, 0x242070dbu, 17);        \
    MD5_STEP(V_F, b, c, d, a, 3, 0xc1bdceeeu, 22);        \
    MD5_STEP(V_F, a, b, c, d, 4, 0xf57c0fafu, 7);         \
    MD5_STEP(V_F, d, a, b, c, 5, 0x4787c62au, 12);        \
    MD5_STEP(V_F, c, d, a, b, 6, 0xa8304613u, 17);        \
    MD5_STEP(V_F, b, c, d, a, 7, 0xfd469501u, 22);        \
    MD5_STEP(V_F, a, b, c, d, 8, 0x698098d8u, 7);         \
    MD5_STEP(V_F, d, a, b, c, 9, 0x8b44f7afu, 12);        \
    MD5_STEP(V_F, c, d, a, b, 10, 0xffff5bb1u, 17);       \
    MD5_STEP(V_F, b, c, d, a, 11, 0x895cd7beu, 22);       \
    MD5_STEP(V_F, a, b, c, d, 12, 0x6b901122u, 7);        \
    MD5_STEP(V_F, d, a, b, c, 13, 0xfd987193u, 12);       \
    MD5_STEP(V_F, c, d, a, b, 14, 0xa679438eu, 17);       \
    MD5_STEP(V_F, b, c, d, a, 15, 0x49b40821u, 22);       \
    MD5_STEP_G(a, b, c, d, 1, 0xf61e2562u, 5);         \
    MD5_STEP_G(d, a, b, c, 6, 0xc040b340u, 9);         \
    MD5_STEP_G(c, d, a, b, 11, 0x265e5a51u, 14);       \
    MD5_STEP_G(b, c, d, a, 0, 0xe9b6c7aau, 20);        \
    MD5_STEP_G(a, b, c, d, 5, 0xd62f105du, 5);         \
    MD5_STEP_G(d, a, b, c, 10, 0x02441453u, 9);        \
    MD5_STEP_G(c, d, a, b, 15, 0xd8a1e681u, 14);       \
    MD5_STEP_G(b, c, d, a, 4, 0xe7d3fbc8u, 20);        \
    MD5_STEP_G(a, b, c, d, 9, 0x21e1cde6u, 5);         \
    MD5_STEP_G(d, a, b, c, 14, 0xc33707d6u, 9);        \
    MD5_STEP_G(c, d, a, b, 3, 0xf4d50d87u, 14);        \
    MD5_STEP_G(b, c, d, a, 8, 0x455a14edu, 20);        \
    MD5_STEP_G(a, b, c, d, 13, 0xa9e3e905u, 5);        \
    MD5_STEP_G(d, a, b, c, 2, 0xfcefa3f8u, 9);         \
    MD5_STEP_G(c, d, a, b, 7, 0x676f02d9u, 14);        \
    MD5_STEP_G(b, c, d, a, 12, 0x8d2a4c8au, 20);       \
    MD5_STEP(V_H, a, b, c, d, 5, 0xfffa3942u, 4);         \
    MD5_STEP(V_H, d, a, b, c, 8, 0x8771f681u, 11);        \
    MD5_STEP(V_H, c, d, a, b, 11, 0x6d9d6122u, 16);       \
    MD5_STEP(V_H, b, c, d, a, 14, 0xfde5380cu, 23);       \
    MD5_STEP(V_H, a, b, c, d, 1, 0xa4beea44u, 4);         \
    MD5_STEP(V_H, d, a, b, c, 4, 0x4bdecfa9u, 11);        \
    MD5_STEP(V_H, c, d, a, b, 7, 0xf6bb4b60u, 16);        \
    MD5_STEP(V_H, b, c, d, a, 10, 0xbebfbc70u, 23);       \
    MD5_STEP(V_H, a, b, c, d, 13, 0x289b7ec6u, 4);        \
    MD5_STEP(V_H, d, a, b, c, 0, 0xeaa127fau, 11);        \
    MD5_STEP(V_H, c, d, a, b, 3, 0xd4ef3085u, 16);        \
    MD5_STEP(V_H, b, c, d, a, 6, 0x04881d05u, 23);        \
    MD5_STEP(V_H, a, b, c, d, 9, 0xd9d4d039u, 4);         \
    MD5_STEP(V_H, d, a, b, c, 12, 0xe6db99e5u, 11);       \
    MD5_STEP(V_H, c, d, a, b, 15, 0x1fa27cf8u, 16);       \
    MD5_STEP(V_H, b, c, d, a, 2, 0xc4ac5665u, 23);        \
    MD5_STEP(V_I, a, b, c, d, 0, 0xf4292244u, 6);         \
    MD5_STEP(V_I, d, a, b, c, 7, 0x432aff97u, 10);        \
    MD5_STEP(V_I, c, d, a, b, 14, 0xab9423a7u, 15);       \
    MD5_STEP(V_I, b, c, d, a, 5, 0xfc93a039u, 21);        \
    MD5_STEP(V_I, a, b, c, d, 12, 0x655b59c3u, 6);        \
    MD5_STEP(V_I, d, a, b, c, 3, 0x8f0ccc92u, 10);        \
    MD5_STEP(V_I, c, d, a, b, 10, 0xffeff47du, 15);       \
    MD5_STEP(V_I, b, c, d, a, 1, 0x85845dd1u, 21);        \
    MD5_STEP(V_I, a, b, c, d, 8, 0x6fa87e4fu, 6);         \
    MD5_STEP(V_I, d, a, b, c, 15, 0xfe2ce6e0u, 10);       \
    MD5_STEP(V_I, c, d, a, b, 6, 0xa3014314u, 15);        \
    MD5_STEP(V_I, b, c, d, a, 13, 0x4e0811a1u, 21);       \
    MD5_STEP(V_I, a, b, c, d, 4, 0xf7537e82u, 6);         \
    MD5_STEP(V_I, d, a, b, c, 11, 0xbd3af235u, 10);       \
    MD5_STEP(V_I, c, d, a, b, 2, 0x2ad7d2bbu, 15);        \
    MD5_STEP(V_I, b, c, d, a, 9, 0xeb86d391u, 21)

static inline uint32_t load_le32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void store_le32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Scalar kernel */

#define V_T uint32_t
#define V_ADD(x, y) ((uint32_t)((x) + (y)))
#define V_ADDK(x, k) ((uint32_t)((x) + (k)))
#define V_ROTL(x, s) ((uint32_t)(((x) << (s)) | ((x) >> (32 - (s)))))
#define V_F(b, c, d) ((d) ^ ((b) & ((c) ^ (d))))
#define V_AND(x, y) ((x) & (y))
#define V_ANDNOT(x, y) (~(x) & (y))
#define V_H(b, c, d) ((b) ^ ((c) ^ (d)))
#define V_I(b, c, d) ((c) ^ ((b) | ~(d)))
#define W(i) w[i]

static void compress_scalar(multi_md5_state *state, int lane, const uint8_t *p, size_t nblocks) {
    uint32_t a = state->a[lane], b = state->b[lane], c = state->c[lane], d = state->d[lane];
    for (size_t n = 0; n < nblocks; n++, p += MULTI_MD5_BLOCK_SIZE) {
        uint32_t w[16];
        for (int i = 0; i < 16; i++) {
            w[i] = load_le32(p + 4 * i);
        }
        const uint32_t a0 = a, b0 = b, c0 = c, d0 = d;
        MD5_64_STEPS(a, b, c, d);
        a += a0;
        b += b0;
        c += c0;
        d += d0;
    }
    state->a[lane] = a;
    state->b[lane] = b;
    state->c[lane] = c;
    state->d[lane] = d;
}

#undef V_T
#undef V_ADD
#undef V_ADDK
#undef V_ROTL
#undef V_F
#undef V_AND
#undef V_ANDNOT
#undef V_H
#undef V_I
#undef W

static void blocks_scalar(multi_md5_state *state, const uint8_t *const blocks[MULTI_MD5_MAX_LANES],
                          size_t nblocks) {
    for (int lane = 0; lane < MULTI_MD5_MAX_LANES; lane++) {
        if (blocks[lane] != NULL) {
            compress_scalar(state, lane, blocks[lane], nblocks);
        }
    }
}

#if MULTI_MD5_X86

/* Idle SIMD lanes read this block; their results are discarded. */
static const uint8_t idle_block[MULTI_MD5_BLOCK_SIZE];

/* SSE2 kernel: 4 lanes per __m128i. */

#define V_T __m128i
#define V_ADD(x, y) _mm_add_epi32(x, y)
#define V_ADDK(x, k) _mm_add_epi32(x, _mm_set1_epi32((int)(k)))
#define V_ROTL(x, s) _mm_or_si128(_mm_slli_epi32(x, s), _mm_srli_epi32(x, 32 - (s)))
#define V_F(b, c, d) _mm_xor_si128(d, _mm_and_si128(b, _mm_xor_si128(c, d)))
#define V_AND(x, y) _mm_and_si128(x, y)
#define V_ANDNOT(x, y) _mm_andnot_si128(x, y)
#define V_H(b, c, d) _mm_xor_si128(b, _mm_xor_si128(c, d))
#define V_I(b, c, d) _mm_xor_si128(c, _mm_or_si128(b, _mm_xor_si128(d, ones)))
#define W(i) w[i]

__attribute__((target("sse2")))
static void blocks_sse2_group(multi_md5_state *state, int first_lane,
                              const uint8_t *const blocks[MULTI_MD5_MAX_LANES], size_t nblocks) {
    const uint8_t *p[4];
    int32_t active[4];
    for (int i = 0; i < 4; i++) {
        const uint8_t *lane_blocks = blocks[first_lane + i];
        active[i] = lane_blocks != NULL ? -1 : 0;
        p[i] = lane_blocks != NULL ? lane_blocks : idle_block;
    }
    const size_t stride = MULTI_MD5_BLOCK_SIZE;
    const size_t step0 = active[0] ? stride : 0, step1 = active[1] ? stride : 0;
    const size_t step2 = active[2] ? stride : 0, step3 = active[3] ? stride : 0;
    const __m128i mask = _mm_set_epi32(active[3], active[2], active[1], active[0]);
    const __m128i ones = _mm_set1_epi32(-1);

    const __m128i a_in = _mm_loadu_si128((const __m128i *)&state->a[first_lane]);
    const __m128i b_in = _mm_loadu_si128((const __m128i *)&state->b[first_lane]);
    const __m128i c_in = _mm_loadu_si128((const __m128i *)&state->c[first_lane]);
    const __m128i d_in = _mm_loadu_si128((const __m128i *)&state->d[first_lane]);
    __m128i a = a_in, b = b_in, c = c_in, d = d_in;

    for (size_t n = 0; n < nblocks; n++) {
        __m128i w[16];
        for (int j = 0; j < 4; j++) {
            const __m128i r0 = _mm_loadu_si128((const __m128i *)(p[0] + 16 * j));
            const __m128i r1 = _mm_loadu_si128((const __m128i *)(p[1] + 16 * j));
            const __m128i r2 = _mm_loadu_si128((const __m128i *)(p[2] + 16 * j));
            const __m128i r3 = _mm_loadu_si128((const __m128i *)(p[3] + 16 * j));
            const __m128i t0 = _mm_unpacklo_epi32(r0, r1);
            const __m128i t1 = _mm_unpackhi_epi32(r0, r1);
            const __m128i t2 = _mm_unpacklo_epi32(r2, r3);
            const __m128i t3 = _mm_unpackhi_epi32(r2, r3);
            w[4 * j + 0] = _mm_unpacklo_epi64(t0, t2);
            w[4 * j + 1] = _mm_unpackhi_epi64(t0, t2);
            w[4 * j + 2] = _mm_unpacklo_epi64(t1, t3);
            w[4 * j + 3] = _mm_unpackhi_epi64(t1, t3);
        }
        p[0] += step0;
        p[1] += step1;
        p[2] += step2;
        p[3] += step3;

        const __m128i a0 = a, b0 = b, c0 = c, d0 = d;
        MD5_64_STEPS(a, b, c, d);
        a = _mm_add_epi32(a, a0);
        b = _mm_add_epi32(b, b0);
        c = _mm_add_epi32(c, c0);
        d = _mm_add_epi32(d, d0);
    }

#define SELECT(new_value, old_value) \
    _mm_or_si128(_mm_and_si128(mask, new_value), _mm_andnot_si128(mask, old_value))
    _mm_storeu_si128((__m128i *)&state->a[first_lane], SELECT(a, a_in));
    _mm_storeu_si128((__m128i *)&state->b[first_lane], SELECT(b, b_in));
    _mm_storeu_si128((__m128i *)&state->c[first_lane], SELECT(c, c_in));
    _mm_storeu_si128((__m128i *)&state->d[first_lane], SELECT(d, d_in));
#undef SELECT
}

#undef V_T
#undef V_ADD
#undef V_ADDK
#undef V_ROTL
#undef V_F
#undef V_AND
#undef V_ANDNOT
#undef V_H
#undef V_I
#undef W

static void blocks_sse2(multi_md5_state *state, const uint8_t *const blocks[MULTI_MD5_MAX_LANES],
                        size_t nblocks) {
    for (int first_lane = 0; first_lane < MULTI_MD5_MAX_LANES; first_lane += 4) {
        if (blocks[first_lane] || blocks[first_lane + 1] || blocks[first_lane + 2] || blocks[first_lane + 3]) {
            blocks_sse2_group(state, first_lane, blocks, nblocks);
        }
    }
}

/*
 * Kernels over __m256i, written once in kernel256.h: 8 lanes, or 16 as two
 * groups of 8 whose instructions alternate. AVX2 builds each round function
 * from two or three logic instructions and a rotate from two shifts and an
 * OR; AVX-512VL has one ternary-logic instruction per round function and a
 * rotate instruction, which shortens the chain of dependent instructions of
 * each step (MD5's 64 steps run one after another).
 */

/* One group: V_T is one __m256i. */
#define V_T __m256i
#define GROUP(x, g) (x)
#define W(i) w[i]
#define V_ADD(x, y) _mm256_add_epi32(x, y)
#define V_ADDK(x, k) _mm256_add_epi32(x, _mm256_set1_epi32((int)(k)))
#define V_AND(x, y) _mm256_and_si256(x, y)
#define V_ANDNOT(x, y) _mm256_andnot_si256(x, y)
#define V_H(b, c, d) _mm256_xor_si256(b, _mm256_xor_si256(c, d))
#define KERNEL_GROUPS 1

#define V_ROTL(x, s) _mm256_or_si256(_mm256_slli_epi32(x, s), _mm256_srli_epi32(x, 32 - (s)))
#define V_F(b, c, d) _mm256_xor_si256(d, _mm256_and_si256(b, _mm256_xor_si256(c, d)))
#define V_I(b, c, d) _mm256_xor_si256(c, _mm256_or_si256(b, _mm256_xor_si256(d, ones)))
#define KERNEL_TARGET "avx2"
#define KERNEL_NAME blocks_avx2_lanes
#include "kernel256.h"
#undef KERNEL_NAME
#undef KERNEL_TARGET
#undef V_ROTL
#undef V_F
#undef V_I
#undef V_H

/* Ternary logic: bit i of the immediate is the result for (b, c, d) = bits 2, 1, 0 of i. */
#define V_ROTL(x, s) _mm256_rol_epi32(x, s)
#define V_F(b, c, d) _mm256_ternarylogic_epi32(b, c, d, 0xCA) /* b ? c : d */
#define V_H(b, c, d) _mm256_ternarylogic_epi32(b, c, d, 0x96) /* b ^ c ^ d */
#define V_I(b, c, d) _mm256_ternarylogic_epi32(b, c, d, 0x39) /* c ^ (b | ~d) */
#define KERNEL_TARGET "avx2,avx512f,avx512vl"
#define KERNEL_NAME blocks_avx512vl_lanes
#include "kernel256.h"
#undef KERNEL_NAME
#undef KERNEL_TARGET

#undef V_T
#undef GROUP
#undef V_ADD
#undef V_ADDK
#undef V_AND
#undef V_ANDNOT
#undef V_ROTL
#undef V_F
#undef V_H
#undef V_I
#undef KERNEL_GROUPS

/* Two groups: V_T holds both, and each operation is done on one group, then on the other. */
typedef struct {
    __m256i v[2];
} m256x2;
#define V_T m256x2
#define GROUP(x, g) ((x).v[g])
#define BOTH(op, x, y) ((m256x2){{op((x).v[0], (y).v[0]), op((x).v[1], (y).v[1])}})
#define BOTH3(op, x, y, z) ((m256x2){{op((x).v[0], (y).v[0], (z).v[0]), op((x).v[1], (y).v[1], (z).v[1])}})
#define TERNARY(x, y, z, imm)                                                 \
    ((m256x2){{_mm256_ternarylogic_epi32((x).v[0], (y).v[0], (z).v[0], imm), \
               _mm256_ternarylogic_epi32((x).v[1], (y).v[1], (z).v[1], imm)}})
#define EACH(op, x, ...) ((m256x2){{op((x).v[0], __VA_ARGS__), op((x).v[1], __VA_ARGS__)}})
#define V_ADD(x, y) BOTH(_mm256_add_epi32, x, y)
#define V_ADDK(x, k) EACH(_mm256_add_epi32, x, _mm256_set1_epi32((int)(k)))
#define V_AND(x, y) BOTH(_mm256_and_si256, x, y)
#define V_ANDNOT(x, y) BOTH(_mm256_andnot_si256, x, y)
#define KERNEL_GROUPS 2

#define ROTL256(x, s) _mm256_or_si256(_mm256_slli_epi32(x, s), _mm256_srli_epi32(x, 32 - (s)))
#define F256(b, c, d) _mm256_xor_si256(d, _mm256_and_si256(b, _mm256_xor_si256(c, d)))
#define H256(b, c, d) _mm256_xor_si256(b, _mm256_xor_si256(c, d))
#define I256(b, c, d) _mm256_xor_si256(c, _mm256_or_si256(b, _mm256_xor_si256(d, ones)))
#define V_ROTL(x, s) EACH(ROTL256, x, s)
#define V_F(b, c, d) BOTH3(F256, b, c, d)
#define V_H(b, c, d) BOTH3(H256, b, c, d)
#define V_I(b, c, d) BOTH3(I256, b, c, d)
#define KERNEL_TARGET "avx2"
#define KERNEL_NAME blocks_avx2_x2_lanes
#include "kernel256.h"
#undef KERNEL_NAME
#undef KERNEL_TARGET
#undef V_ROTL
#undef V_F
#undef V_H
#undef V_I

#define V_ROTL(x, s) EACH(_mm256_rol_epi32, x, s)
#define V_F(b, c, d) TERNARY(b, c, d, 0xCA)
#define V_H(b, c, d) TERNARY(b, c, d, 0x96)
#define V_I(b, c, d) TERNARY(b, c, d, 0x39)
#define KERNEL_TARGET "avx2,avx512f,avx512vl"
#define KERNEL_NAME blocks_avx512vl_x2_lanes
#include "kernel256.h"
#undef KERNEL_NAME
#undef KERNEL_TARGET

#undef V_T
#undef GROUP
#undef BOTH
#undef BOTH3
#undef TERNARY
#undef EACH
#undef V_ADD
#undef V_ADDK
#undef V_AND
#undef V_ANDNOT
#undef ROTL256
#undef F256
#undef H256
#undef I256
#undef V_ROTL
#undef V_F
#undef V_H
#undef V_I
#undef W
#undef KERNEL_GROUPS

/* Whether any of the `count` lanes from `first_lane` has a block. */
static bool any_active(const uint8_t *const blocks[MULTI_MD5_MAX_LANES], int first_lane, int count) {
    for (int lane = first_lane; lane < first_lane + count; lane++) {
        if (blocks[lane] != NULL) {
            return true;
        }
    }
    return false;
}

/* An 8-lane kernel runs lanes 0-7 and 8-15 as two passes, skipping one with no active lane. */
static void blocks_avx2(multi_md5_state *state, const uint8_t *const blocks[MULTI_MD5_MAX_LANES], size_t nblocks) {
    for (int first_lane = 0; first_lane < MULTI_MD5_MAX_LANES; first_lane += 8) {
        if (any_active(blocks, first_lane, 8)) {
            blocks_avx2_lanes(state, first_lane, blocks, nblocks);
        }
    }
}

static void blocks_avx512vl(multi_md5_state *state, const uint8_t *const blocks[MULTI_MD5_MAX_LANES], size_t nblocks) {
    for (int first_lane = 0; first_lane < MULTI_MD5_MAX_LANES; first_lane += 8) {
        if (any_active(blocks, first_lane, 8)) {
            blocks_avx512vl_lanes(state, first_lane, blocks, nblocks);
        }
    }
}

#endif /* MULTI_MD5_X86 */

bool multi_md5_width_supported(int width) {
    switch (width) {
    case MULTI_MD5_WIDTH_SCALAR:
        return true;
#if MULTI_MD5_X86
    case MULTI_MD5_WIDTH_SSE2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("sse2");
    case MULTI_MD5_WIDTH_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2");
    case MULTI_MD5_WIDTH_AVX2_X2:
        return multi_md5_width_supported(MULTI_MD5_WIDTH_AVX2);
    case MULTI_MD5_WIDTH_AVX512VL:
    case MULTI_MD5_WIDTH_AVX512VL_X2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
#endif
    default:
        return false;
    }
}

int multi_md5_best_width(void) {
    if (multi_md5_width_supported(MULTI_MD5_WIDTH_AVX512VL_X2)) {
        return MULTI_MD5_WIDTH_AVX512VL_X2;
    }
    if (multi_md5_width_supported(MULTI_MD5_WIDTH_AVX2_X2)) {
        return MULTI_MD5_WIDTH_AVX2_X2;
    }
    if (multi_md5_width_supported(MULTI_MD5_WIDTH_SSE2)) {
        return MULTI_MD5_WIDTH_SSE2;
    }
    return MULTI_MD5_WIDTH_SCALAR;
}

void multi_md5_init_lane(multi_md5_state *state, int lane) {
    state->a[lane] = MD5_INIT_A;
    state->b[lane] = MD5_INIT_B;
    state->c[lane] = MD5_INIT_C;
    state->d[lane] = MD5_INIT_D;
}

void multi_md5_init(multi_md5_state *state) {
    for (int lane = 0; lane < MULTI_MD5_MAX_LANES; lane++) {
        multi_md5_init_lane(state, lane);
    }
}

void multi_md5_blocks(multi_md5_state *state, int width,
                      const uint8_t *const blocks[MULTI_MD5_MAX_LANES], size_t nblocks) {
    if (nblocks == 0) {
        return;
    }
#if MULTI_MD5_X86
    if (width == MULTI_MD5_WIDTH_AVX512VL_X2 && multi_md5_width_supported(MULTI_MD5_WIDTH_AVX512VL_X2)) {
        blocks_avx512vl_x2_lanes(state, 0, blocks, nblocks);
        return;
    }
    if (width == MULTI_MD5_WIDTH_AVX2_X2 && multi_md5_width_supported(MULTI_MD5_WIDTH_AVX2_X2)) {
        blocks_avx2_x2_lanes(state, 0, blocks, nblocks);
        return;
    }
    if (width == MULTI_MD5_WIDTH_AVX512VL && multi_md5_width_supported(MULTI_MD5_WIDTH_AVX512VL)) {
        blocks_avx512vl(state, blocks, nblocks);
        return;
    }
    if (width == MULTI_MD5_WIDTH_AVX2 && multi_md5_width_supported(MULTI_MD5_WIDTH_AVX2)) {
        blocks_avx2(state, blocks, nblocks);
        return;
    }
    if (width == MULTI_MD5_WIDTH_SSE2 && multi_md5_width_supported(MULTI_MD5_WIDTH_SSE2)) {
        blocks_sse2(state, blocks, nblocks);
        return;
    }
#endif
    (void)width;
    blocks_scalar(state, blocks, nblocks);
}

size_t multi_md5_padding(uint64_t total_length, uint8_t padding[MULTI_MD5_MAX_PADDING]) {
    const size_t tail_length = (size_t)(total_length % MULTI_MD5_BLOCK_SIZE);
    const size_t zero_count = tail_length < 56 ? 55 - tail_length : 119 - tail_length;
    padding[0] = 0x80;
    memset(padding + 1, 0, zero_count);
    const uint64_t bit_length = total_length << 3;
    store_le32(padding + 1 + zero_count, (uint32_t)bit_length);
    store_le32(padding + 5 + zero_count, (uint32_t)(bit_length >> 32));
    return 9 + zero_count;
}

void multi_md5_lane_digest(const multi_md5_state *state, int lane, uint8_t digest[MULTI_MD5_DIGEST_SIZE]) {
    store_le32(digest, state->a[lane]);
    store_le32(digest + 4, state->b[lane]);
    store_le32(digest + 8, state->c[lane]);
    store_le32(digest + 12, state->d[lane]);
}

void multi_md5_finish_lane(multi_md5_state *state, int lane, const uint8_t *tail, size_t tail_length,
                           uint64_t total_length, uint8_t digest[MULTI_MD5_DIGEST_SIZE]) {
    uint8_t final_blocks[2 * MULTI_MD5_BLOCK_SIZE];
    if (tail_length > 0) {
        memcpy(final_blocks, tail, tail_length);
    }
    const size_t padding_length = multi_md5_padding(total_length, final_blocks + tail_length);
    compress_scalar(state, lane, final_blocks, (tail_length + padding_length) / MULTI_MD5_BLOCK_SIZE);
    multi_md5_lane_digest(state, lane, digest);
}
