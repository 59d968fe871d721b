/*
 * The 8-lane kernel over __m256i, included once per instruction set by
 * multi_md5.c: it defines KERNEL_NAME, KERNEL_TARGET (the target attribute)
 * and the step macros (V_T, V_ADD, V_ADDK, V_ROTL, V_F, V_AND, V_ANDNOT, V_H,
 * V_I, W) before including it.
 */
__attribute__((target(KERNEL_TARGET)))
static void KERNEL_NAME(multi_md5_state *state, const uint8_t *const blocks[MULTI_MD5_MAX_LANES],
                        size_t nblocks) {
    const uint8_t *p[8];
    size_t step[8];
    int32_t active[8];
    for (int i = 0; i < 8; i++) {
        active[i] = blocks[i] != NULL ? -1 : 0;
        p[i] = blocks[i] != NULL ? blocks[i] : idle_block;
        step[i] = blocks[i] != NULL ? MULTI_MD5_BLOCK_SIZE : 0;
    }
    const __m256i mask = _mm256_loadu_si256((const __m256i *)active);
    const __m256i ones = _mm256_set1_epi32(-1);
    (void)ones; /* V_I of AVX2 needs it */

    const __m256i a_in = _mm256_loadu_si256((const __m256i *)state->a);
    const __m256i b_in = _mm256_loadu_si256((const __m256i *)state->b);
    const __m256i c_in = _mm256_loadu_si256((const __m256i *)state->c);
    const __m256i d_in = _mm256_loadu_si256((const __m256i *)state->d);
    __m256i a = a_in, b = b_in, c = c_in, d = d_in;

    for (size_t n = 0; n < nblocks; n++) {
        __m256i w[16];
        for (int half = 0; half < 2; half++) {
            const size_t offset = 32 * (size_t)half;
            const __m256i r0 = _mm256_loadu_si256((const __m256i *)(p[0] + offset));
            const __m256i r1 = _mm256_loadu_si256((const __m256i *)(p[1] + offset));
            const __m256i r2 = _mm256_loadu_si256((const __m256i *)(p[2] + offset));
            const __m256i r3 = _mm256_loadu_si256((const __m256i *)(p[3] + offset));
            const __m256i r4 = _mm256_loadu_si256((const __m256i *)(p[4] + offset));
            const __m256i r5 = _mm256_loadu_si256((const __m256i *)(p[5] + offset));
            const __m256i r6 = _mm256_loadu_si256((const __m256i *)(p[6] + offset));
            const __m256i r7 = _mm256_loadu_si256((const __m256i *)(p[7] + offset));
            const __m256i t0 = _mm256_unpacklo_epi32(r0, r1);
            const __m256i t1 = _mm256_unpackhi_epi32(r0, r1);
            const __m256i t2 = _mm256_unpacklo_epi32(r2, r3);
            const __m256i t3 = _mm256_unpackhi_epi32(r2, r3);
            const __m256i t4 = _mm256_unpacklo_epi32(r4, r5);
            const __m256i t5 = _mm256_unpackhi_epi32(r4, r5);
            const __m256i t6 = _mm256_unpacklo_epi32(r6, r7);
            const __m256i t7 = _mm256_unpackhi_epi32(r6, r7);
            const __m256i u0 = _mm256_unpacklo_epi64(t0, t2);
            const __m256i u1 = _mm256_unpackhi_epi64(t0, t2);
            const __m256i u2 = _mm256_unpacklo_epi64(t1, t3);
            const __m256i u3 = _mm256_unpackhi_epi64(t1, t3);
            const __m256i u4 = _mm256_unpacklo_epi64(t4, t6);
            const __m256i u5 = _mm256_unpackhi_epi64(t4, t6);
            const __m256i u6 = _mm256_unpacklo_epi64(t5, t7);
            const __m256i u7 = _mm256_unpackhi_epi64(t5, t7);
            __m256i *out = &w[8 * half];
            out[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
            out[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
            out[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
            out[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
            out[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
            out[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
            out[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
            out[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
        }
        for (int i = 0; i < 8; i++) {
            p[i] += step[i];
        }

        const __m256i a0 = a, b0 = b, c0 = c, d0 = d;
        MD5_64_STEPS(a, b, c, d);
        a = _mm256_add_epi32(a, a0);
        b = _mm256_add_epi32(b, b0);
        c = _mm256_add_epi32(c, c0);
        d = _mm256_add_epi32(d, d0);
    }

    _mm256_storeu_si256((__m256i *)state->a, _mm256_blendv_epi8(a_in, a, mask));
    _mm256_storeu_si256((__m256i *)state->b, _mm256_blendv_epi8(b_in, b, mask));
    _mm256_storeu_si256((__m256i *)state->c, _mm256_blendv_epi8(c_in, c, mask));
    _mm256_storeu_si256((__m256i *)state->d, _mm256_blendv_epi8(d_in, d, mask));
}
