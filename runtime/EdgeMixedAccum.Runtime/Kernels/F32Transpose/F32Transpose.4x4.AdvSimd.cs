using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// f32-transpose in 4 x 4 blocks of NEON registers: 4 loads, 8 ZIP1/ZIP2 (.4S then .2D), 4 stores; scalar
/// edges. Contract: no alignment needed; F32TransposeFamily.Check runs first.
/// </summary>
internal static class F32Transpose4x4AdvSimd
{
    public static void Run(ReadOnlySpan<float> x, int rows, int cols, int ldx, Span<float> y, int ldy)
    {
        F32TransposeFamily.Check(x, rows, cols, ldx, y, ldy);
        int rb = rows & ~3, cb = cols & ~3;
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float y0 = ref MemoryMarshal.GetReference(y);
        for (int r = 0; r < rb; r += 4)
            for (int c = 0; c < cb; c += 4)
                Block(ref Unsafe.Add(ref x0, (nint)r * ldx + c), ldx, ref Unsafe.Add(ref y0, (nint)c * ldy + r), ldy);
        F32TransposeScalar.Edges(x, rows, cols, ldx, y, ldy, rb, cb);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block(ref float x, int ldx, ref float y, int ldy)
    {
        var r0 = Vector128.LoadUnsafe(ref x); var r1 = Vector128.LoadUnsafe(ref x, (nuint)ldx);
        var r2 = Vector128.LoadUnsafe(ref x, (nuint)(2 * ldx)); var r3 = Vector128.LoadUnsafe(ref x, (nuint)(3 * ldx));
        var t0 = AdvSimd.Arm64.ZipLow(r0, r1).AsDouble(); var t1 = AdvSimd.Arm64.ZipHigh(r0, r1).AsDouble();
        var t2 = AdvSimd.Arm64.ZipLow(r2, r3).AsDouble(); var t3 = AdvSimd.Arm64.ZipHigh(r2, r3).AsDouble();
        AdvSimd.Arm64.ZipLow(t0, t2).AsSingle().StoreUnsafe(ref y);
        AdvSimd.Arm64.ZipHigh(t0, t2).AsSingle().StoreUnsafe(ref y, (nuint)ldy);
        AdvSimd.Arm64.ZipLow(t1, t3).AsSingle().StoreUnsafe(ref y, (nuint)(2 * ldy));
        AdvSimd.Arm64.ZipHigh(t1, t3).AsSingle().StoreUnsafe(ref y, (nuint)(3 * ldy));
    }
}
