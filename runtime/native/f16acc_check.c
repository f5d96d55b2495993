/*
 * Standalone check of f16acc.c against the golden table (written by the F16GemvGoldenDump test with the
 * exact reference's bits): runs every case, compares y and absDot bit for bit, and recomputes the same
 * FNV-1a 64 checksum as F16GemvGolden.Checksum. Run by check-f16acc.sh under qemu-aarch64 -cpu cortex-a76.
 */
#include <arm_neon.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ema_f16acc_abi(void);
void ema_f16acc_gemv(const float16_t *w, const float16_t *x, float16_t *y, float *absdot, int32_t rows, int32_t k);

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001B3ULL;
    return h;
}

static void rd(void *dst, size_t n, FILE *f)
{
    if (n && fread(dst, 1, n, f) != n) { fprintf(stderr, "short read\n"); exit(2); }
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: %s golden.bin\n", argv[0]); return 2; }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 2; }
    char magic[4]; int32_t ncases; uint64_t expected;
    rd(magic, 4, f); rd(&ncases, 4, f); rd(&expected, 8, f);
    if (memcmp(magic, "F16G", 4) != 0 || ema_f16acc_abi() != 1) { fprintf(stderr, "bad magic or ABI\n"); return 2; }
    uint64_t h = 0xCBF29CE484222325ULL;
    long bad = 0, outputs = 0;
    for (int c = 0; c < ncases; c++)
    {
        int32_t hdr[3]; rd(hdr, sizeof hdr, f);
        int rows = hdr[0], k = hdr[1], want = hdr[2];
        size_t nw = (size_t)rows * k;
        /* exact-size heap blocks: an over-read shows up under valgrind/ASan builds of this harness */
        uint16_t *w = malloc(nw * 2 + 1), *x = malloc((size_t)k * 2 + 1), *ye = malloc((size_t)rows * 2 + 1), *y = malloc((size_t)rows * 2 + 1);
        float *ae = malloc((size_t)rows * 4 + 1), *a = malloc((size_t)rows * 4 + 1);
        rd(w, nw * 2, f); rd(x, (size_t)k * 2, f); rd(ye, (size_t)rows * 2, f);
        if (want) rd(ae, (size_t)rows * 4, f);
        ema_f16acc_gemv((const float16_t *)w, (const float16_t *)x, (float16_t *)y, want ? a : NULL, rows, k);
        for (int i = 0; i < rows; i++)
        {
            outputs++;
            uint32_t ab = 0, aeb = 0;
            if (want) { memcpy(&ab, &a[i], 4); memcpy(&aeb, &ae[i], 4); }
            if (y[i] != ye[i] || ab != aeb)
            {
                if (bad++ < 20)
                    printf("MISMATCH case %d (rows %d k %d) row %d: y %04x expected %04x, absDot %08x expected %08x\n",
                           c, rows, k, i, y[i], ye[i], ab, aeb);
            }
        }
        h = fnv(h, y, (size_t)rows * 2);
        if (want) h = fnv(h, a, (size_t)rows * 4);
        free(w); free(x); free(ye); free(y); free(ae); free(a);
    }
    fclose(f);
    printf("cases %d outputs %ld mismatches %ld checksum %016llX expected %016llX\n",
           ncases, outputs, bad, (unsigned long long)h, (unsigned long long)expected);
    return bad == 0 && h == expected ? 0 : 1;
}
