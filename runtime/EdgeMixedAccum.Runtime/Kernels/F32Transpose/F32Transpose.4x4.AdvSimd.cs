using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// f32-transpose in 4 x 4 blocks of NEON registers: 4 loads, 8 ZIP1/ZIP2 (.4S then .2D), 4 stores; scalar
/// edges. Contract: no alignment needed; F32TransposeFamily.Check runs first.
/// </summary>
internal readonly struct F32Transpose4x4AdvSimd : ITransposeBlock
{
    public static void Run(ReadOnlySpan<float> x, int rows, int cols, int ldx, Span<float> y, int ldy) =>
        TransposeBlocks.Run<F32Transpose4x4AdvSimd>(x, rows, cols, ldx, y, ldy);

    public static int Size => 4;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Block(ref float x, int ldx, ref float y, int ldy)
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
