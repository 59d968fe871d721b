/*
 * The kernel over __m256i, 8 lanes per group, included once per instruction
 * set and group count by multi_md5.c: it defines KERNEL_NAME, KERNEL_TARGET
 * (the target attribute), KERNEL_GROUPS (1 or 2: the 8 or 16 lanes from
 * first_lane), GROUP(x, g) (group g's __m256i of a V_T) and the step macros
 * (V_T, V_ADD, V_ADDK, V_ROTL, V_F, V_AND, V_ANDNOT, V_H, V_I) before
 * including it. MD5's 64 steps form one chain of dependent instructions; with
 * two groups V_T holds both and every step macro does each operation on both,
 * side by side, so the CPU runs one group's instruction while the other's waits
 * for its operands.
 */
__attribute__((target(KERNEL_TARGET)))
static void KERNEL_NAME(multi_md5_state *state, int first_lane,
                        const uint8_t *const blocks[MULTI_MD5_MAX_LANES], size_t nblocks) {
    enum { LANES = 8 * KERNEL_GROUPS };
    const uint8_t *p[LANES];
    size_t step[LANES];
    int32_t active[LANES];
    for (int i = 0; i < LANES; i++) {
        const uint8_t *block = blocks[first_lane + i];
        active[i] = block != NULL ? -1 : 0;
        p[i] = block != NULL ? block : idle_block;
        step[i] = block != NULL ? MULTI_MD5_BLOCK_SIZE : 0;
    }
    const __m256i ones = _mm256_set1_epi32(-1);
    (void)ones; /* V_I of AVX2 needs it */

    __m256i mask[KERNEL_GROUPS], a_in[KERNEL_GROUPS], b_in[KERNEL_GROUPS], c_in[KERNEL_GROUPS], d_in[KERNEL_GROUPS];
    V_T a, b, c, d;
    for (int g = 0; g < KERNEL_GROUPS; g++) {
        mask[g] = _mm256_loadu_si256((const __m256i *)(active + 8 * g));
        GROUP(a, g) = a_in[g] = _mm256_loadu_si256((const __m256i *)(state->a + first_lane + 8 * g));
        GROUP(b, g) = b_in[g] = _mm256_loadu_si256((const __m256i *)(state->b + first_lane + 8 * g));
        GROUP(c, g) = c_in[g] = _mm256_loadu_si256((const __m256i *)(state->c + first_lane + 8 * g));
        GROUP(d, g) = d_in[g] = _mm256_loadu_si256((const __m256i *)(state->d + first_lane + 8 * g));
    }

    for (size_t n = 0; n < nblocks; n++) {
        /* Message word i of group g is GROUP(w[i], g). */
        V_T w[16];
        for (int g = 0; g < KERNEL_GROUPS; g++) {
            const uint8_t *const *q = p + 8 * g;
            for (int half = 0; half < 2; half++) {
                const size_t offset = 32 * (size_t)half;
                const __m256i r0 = _mm256_loadu_si256((const __m256i *)(q[0] + offset));
                const __m256i r1 = _mm256_loadu_si256((const __m256i *)(q[1] + offset));
                const __m256i r2 = _mm256_loadu_si256((const __m256i *)(q[2] + offset));
                const __m256i r3 = _mm256_loadu_si256((const __m256i *)(q[3] + offset));
                const __m256i r4 = _mm256_loadu_si256((const __m256i *)(q[4] + offset));
                const __m256i r5 = _mm256_loadu_si256((const __m256i *)(q[5] + offset));
                const __m256i r6 = _mm256_loadu_si256((const __m256i *)(q[6] + offset));
                const __m256i r7 = _mm256_loadu_si256((const __m256i *)(q[7] + offset));
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
                V_T *out = &w[8 * half];
                GROUP(out[0], g) = _mm256_permute2x128_si256(u0, u4, 0x20);
                GROUP(out[1], g) = _mm256_permute2x128_si256(u1, u5, 0x20);
                GROUP(out[2], g) = _mm256_permute2x128_si256(u2, u6, 0x20);
                GROUP(out[3], g) = _mm256_permute2x128_si256(u3, u7, 0x20);
                GROUP(out[4], g) = _mm256_permute2x128_si256(u0, u4, 0x31);
                GROUP(out[5], g) = _mm256_permute2x128_si256(u1, u5, 0x31);
                GROUP(out[6], g) = _mm256_permute2x128_si256(u2, u6, 0x31);
                GROUP(out[7], g) = _mm256_permute2x128_si256(u3, u7, 0x31);
            }
        }
        for (int i = 0; i < LANES; i++) {
            p[i] += step[i];
        }

        const V_T a0 = a, b0 = b, c0 = c, d0 = d;
        MD5_64_STEPS(a, b, c, d);
        a = V_ADD(a, a0);
        b = V_ADD(b, b0);
        c = V_ADD(c, c0);
        d = V_ADD(d, d0);
    }

    for (int g = 0; g < KERNEL_GROUPS; g++) {
        _mm256_storeu_si256((__m256i *)(state->a + first_lane + 8 * g), _mm256_blendv_epi8(a_in[g], GROUP(a, g), mask[g]));
        _mm256_storeu_si256((__m256i *)(state->b + first_lane + 8 * g), _mm256_blendv_epi8(b_in[g], GROUP(b, g), mask[g]));
        _mm256_storeu_si256((__m256i *)(state->c + first_lane + 8 * g), _mm256_blendv_epi8(c_in[g], GROUP(c, g), mask[g]));
        _mm256_storeu_si256((__m256i *)(state->d + first_lane + 8 * g), _mm256_blendv_epi8(d_in[g], GROUP(d, g), mask[g]));
    }
}
