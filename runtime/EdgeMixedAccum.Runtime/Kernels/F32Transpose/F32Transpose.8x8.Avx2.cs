using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// f32-transpose in 8 x 8 blocks of ymm registers: 8 unaligned loads, 24 shuffles (VUNPCKLPS/HPS, VSHUFPS,
/// VPERM2F128), 8 unaligned stores; scalar edges. Contract: no alignment needed; F32TransposeFamily.Check runs first.
/// </summary>
internal readonly struct F32Transpose8x8Avx2 : ITransposeBlock
{
    public static void Run(ReadOnlySpan<float> x, int rows, int cols, int ldx, Span<float> y, int ldy) =>
        TransposeBlocks.Run<F32Transpose8x8Avx2>(x, rows, cols, ldx, y, ldy);

    public static int Size => 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Block(ref float x, int ldx, ref float y, int ldy)
    {
        var r0 = Vector256.LoadUnsafe(ref x); var r1 = Vector256.LoadUnsafe(ref x, (nuint)ldx);
        var r2 = Vector256.LoadUnsafe(ref x, (nuint)(2 * ldx)); var r3 = Vector256.LoadUnsafe(ref x, (nuint)(3 * ldx));
        var r4 = Vector256.LoadUnsafe(ref x, (nuint)(4 * ldx)); var r5 = Vector256.LoadUnsafe(ref x, (nuint)(5 * ldx));
        var r6 = Vector256.LoadUnsafe(ref x, (nuint)(6 * ldx)); var r7 = Vector256.LoadUnsafe(ref x, (nuint)(7 * ldx));
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref y);
        Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref y, (nuint)ldy);
        Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref y, (nuint)(2 * ldy));
        Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref y, (nuint)(3 * ldy));
        Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref y, (nuint)(4 * ldy));
        Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref y, (nuint)(5 * ldy));
        Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref y, (nuint)(6 * ldy));
        Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref y, (nuint)(7 * ldy));
    }
}
