/*
 * f16acc GEMV, native FEAT_FP16 kernel (ARMv8.2-A FMLA .8H), linked statically into NativeAOT builds for
 * linux-arm64 (f16acc.targets) and called from runtime/EdgeMixedAccum.Runtime/Kernels/F16Gemv/F16Gemv.Native.cs.
 *
 * THE ACCUMULATION ORDER (identical to F16Gemv.Emulated.cs; pinned by F16GemvGolden's checksum):
 *   per row i (w_i = w + i*k):
 *   1. eight fp16 lanes acc_0..acc_7 = +0;
 *   2. for j = 0..k-1: acc_(j mod 8) = fma16(w_i[j], x[j], acc_(j mod 8)), one rounding each (FMLA .8H):
 *      full blocks of 8 with vfmaq_f16; the k mod 8 tail is one more vfmaq_f16 with the missing lanes padded
 *      w = -0, x = +0 (product -0; c + -0 == c for every c, so those lanes are untouched);
 *   3. y_i = ((acc_0 + acc_1) + (acc_2 + acc_3)) + ((acc_4 + acc_5) + (acc_6 + acc_7)), each add rounded
 *      to fp16 (three FADDP .8H);
 *   4. no bias. IEEE binary16, RNE, subnormals kept (Linux starts threads with FPCR.FZ16 = 0, DN = 0);
 *      overflow -> +-inf; invalid (inf - inf, inf * 0) -> default NaN 0x7E00.
 *   absDot (when absdot != NULL): the same lanes and tree in fp32 on |w| and |x| widened to fp32
 *   (the product of two fp16 values is exact in fp32, so FMLA .4S == FMUL + FADD here); inf * 0 gives the
 *   fp32 default NaN 0x7FC00000, which the C# emulation reproduces (x64 hardware would give 0xFFC00000).
 * Rows are processed four at a time (shared x loads); the order within a row does not depend on that.
 */
#include <arm_neon.h>
#include <stdint.h>
#include <string.h>

#define EMA_F16ACC_ABI 1

int ema_f16acc_abi(void) { return EMA_F16ACC_ABI; }

static inline float16_t reduce_f16(float16x8_t a)
{
    float16x8_t p = vpaddq_f16(a, a); /* a0+a1, a2+a3, a4+a5, a6+a7, ... */
    p = vpaddq_f16(p, p);             /* (a0+a1)+(a2+a3), (a4+a5)+(a6+a7), ... */
    p = vpaddq_f16(p, p);             /* ((a0+a1)+(a2+a3)) + ((a4+a5)+(a6+a7)) */
    return vgetq_lane_f16(p, 0);
}

static inline float reduce_f32(float32x4_t lo, float32x4_t hi)
{
    float32x4_t p = vpaddq_f32(lo, hi); /* a0+a1, a2+a3, a4+a5, a6+a7 */
    p = vpaddq_f32(p, p);               /* (a0+a1)+(a2+a3), (a4+a5)+(a6+a7), ... */
    return vgetq_lane_f32(p, 0) + vgetq_lane_f32(p, 1);
}

/* acc += |w| * |x| lane-wise in fp32 (lanes 0-3 in lo, 4-7 in hi). */
static inline void abs_step(float32x4_t *lo, float32x4_t *hi, float16x8_t w, float16x8_t x)
{
    float16x8_t wa = vabsq_f16(w), xa = vabsq_f16(x);
    *lo = vfmaq_f32(*lo, vcvt_f32_f16(vget_low_f16(wa)), vcvt_f32_f16(vget_low_f16(xa)));
    *hi = vfmaq_f32(*hi, vcvt_high_f32_f16(wa), vcvt_high_f32_f16(xa));
}

/* Loads the k mod 8 tail of p (r = 1..7 elements) padded with pad in the missing lanes; never over-reads. */
static inline float16x8_t load_tail(const float16_t *p, int r, uint16_t pad)
{
    uint16_t t[8];
    for (int l = 0; l < 8; l++) t[l] = pad;
    memcpy(t, p, (size_t)r * sizeof(uint16_t));
    return vreinterpretq_f16_u16(vld1q_u16(t));
}

#define PAD_W 0x8000u /* -0 */
#define PAD_X 0x0000u /* +0 */

static void rows4(const float16_t *w, const float16_t *x, float16_t *y, float *absdot, int k)
{
    const float16_t *w0 = w, *w1 = w + k, *w2 = w + 2 * (size_t)k, *w3 = w + 3 * (size_t)k;
    float16x8_t a0 = vdupq_n_f16(0), a1 = a0, a2 = a0, a3 = a0;
    float32x4_t l0 = vdupq_n_f32(0), h0 = l0, l1 = l0, h1 = l0, l2 = l0, h2 = l0, l3 = l0, h3 = l0;
    int j = 0;
    for (; j + 8 <= k; j += 8)
    {
        float16x8_t xv = vld1q_f16(x + j);
        float16x8_t v0 = vld1q_f16(w0 + j), v1 = vld1q_f16(w1 + j), v2 = vld1q_f16(w2 + j), v3 = vld1q_f16(w3 + j);
        a0 = vfmaq_f16(a0, v0, xv);
        a1 = vfmaq_f16(a1, v1, xv);
        a2 = vfmaq_f16(a2, v2, xv);
        a3 = vfmaq_f16(a3, v3, xv);
        if (absdot)
        {
            abs_step(&l0, &h0, v0, xv);
            abs_step(&l1, &h1, v1, xv);
            abs_step(&l2, &h2, v2, xv);
            abs_step(&l3, &h3, v3, xv);
        }
    }
    int r = k - j;
    if (r > 0)
    {
        float16x8_t xv = load_tail(x + j, r, PAD_X);
        float16x8_t v0 = load_tail(w0 + j, r, PAD_W), v1 = load_tail(w1 + j, r, PAD_W);
        float16x8_t v2 = load_tail(w2 + j, r, PAD_W), v3 = load_tail(w3 + j, r, PAD_W);
        a0 = vfmaq_f16(a0, v0, xv);
        a1 = vfmaq_f16(a1, v1, xv);
        a2 = vfmaq_f16(a2, v2, xv);
        a3 = vfmaq_f16(a3, v3, xv);
        if (absdot)
        {
            abs_step(&l0, &h0, v0, xv);
            abs_step(&l1, &h1, v1, xv);
            abs_step(&l2, &h2, v2, xv);
            abs_step(&l3, &h3, v3, xv);
        }
    }
    y[0] = reduce_f16(a0);
    y[1] = reduce_f16(a1);
    y[2] = reduce_f16(a2);
    y[3] = reduce_f16(a3);
    if (absdot)
    {
        absdot[0] = reduce_f32(l0, h0);
        absdot[1] = reduce_f32(l1, h1);
        absdot[2] = reduce_f32(l2, h2);
        absdot[3] = reduce_f32(l3, h3);
    }
}

static void row1(const float16_t *w, const float16_t *x, float16_t *y, float *absdot, int k)
{
    float16x8_t a = vdupq_n_f16(0);
    float32x4_t lo = vdupq_n_f32(0), hi = lo;
    int j = 0;
    for (; j + 8 <= k; j += 8)
    {
        float16x8_t xv = vld1q_f16(x + j), wv = vld1q_f16(w + j);
        a = vfmaq_f16(a, wv, xv);
        if (absdot) abs_step(&lo, &hi, wv, xv);
    }
    int r = k - j;
    if (r > 0)
    {
        float16x8_t xv = load_tail(x + j, r, PAD_X), wv = load_tail(w + j, r, PAD_W);
        a = vfmaq_f16(a, wv, xv);
        if (absdot) abs_step(&lo, &hi, wv, xv);
    }
    *y = reduce_f16(a);
    if (absdot) *absdot = reduce_f32(lo, hi);
}

/* y[i] = fp16-accumulated dot(w row i, x), i < rows; w is rows x k row-major; absdot may be NULL. */
void ema_f16acc_gemv(const float16_t *w, const float16_t *x, float16_t *y, float *absdot, int32_t rows, int32_t k)
{
    int i = 0;
    for (; i + 4 <= rows; i += 4)
        rows4(w + (size_t)i * k, x, y + i, absdot ? absdot + i : NULL, k);
    for (; i < rows; i++)
        row1(w + (size_t)i * k, x, y + i, absdot ? absdot + i : NULL, k);
}
