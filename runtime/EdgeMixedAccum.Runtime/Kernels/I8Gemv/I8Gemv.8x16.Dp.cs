using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// ARMv8.2 dot product (Cortex-A76/A78: Raspberry Pi 5, Jetson Orin), 8 rows x 16 columns. SDOT adds groups of
/// four signed products straight into int32 lanes (no narrow stage); the magnitude uses UDOT on |w|,|x| as
/// unsigned bytes. Both exact for k <= MaxK.
/// Contract: as <see cref="I8Gemv8x16ArmTile"/>, whose tile loop this kernel plugs its step into.
/// </summary>
internal static class I8Gemv8x16Dp
{
    public static void Run(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, Span<int> absDot, int rows, int k)
        => I8Gemv8x16ArmTile.Run<Op>(w, x, dot, absDot, rows, k);

    private struct Op : I8Gemv8x16ArmTile.IStep
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step<TAbs>(Vector128<sbyte> xv, Vector128<byte> ux, Vector128<sbyte> wv, ref Vector128<int> d, ref Vector128<uint> a)
            where TAbs : struct, IAbsMode
        {
            d = Dp.DotProduct(d, wv, xv);
            if (TAbs.On) a = Dp.DotProduct(a, AdvSimd.Abs(wv), ux);
        }
    }
}
