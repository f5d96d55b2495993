using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// ARM64 NEON without the dot product (Cortex-A72/A57: Raspberry Pi 4, Jetson Nano), 8 rows x 16 columns. SMULL
/// + SMLAL2 put two products per int16 lane (at most 2*127*127 = 32258 < 32767: exact), SADALP adds the pairs
/// into int32. The magnitude uses |w|,|x| as unsigned bytes: UMULL + UMLAL2 + UADALP (uint32).
/// Contract: as <see cref="I8Gemv8x16ArmTile"/>, whose tile loop this kernel plugs its step into.
/// </summary>
internal static class I8Gemv8x16AdvSimd
{
    public static void Run(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, Span<int> absDot, int rows, int k)
        => I8Gemv8x16ArmTile.Run<Op>(w, x, dot, absDot, rows, k);

    private struct Op : I8Gemv8x16ArmTile.IStep
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step<TAbs>(Vector128<sbyte> xv, Vector128<byte> ux, Vector128<sbyte> wv, ref Vector128<int> d, ref Vector128<uint> a)
            where TAbs : struct, IAbsMode
        {
            var p = AdvSimd.MultiplyWideningLower(wv.GetLower(), xv.GetLower());
            d = AdvSimd.AddPairwiseWideningAndAdd(d, AdvSimd.MultiplyWideningUpperAndAdd(p, wv, xv));
            if (TAbs.On)
            {
                var uw = AdvSimd.Abs(wv);
                var q = AdvSimd.MultiplyWideningLower(uw.GetLower(), ux.GetLower());
                a = AdvSimd.AddPairwiseWideningAndAdd(a, AdvSimd.MultiplyWideningUpperAndAdd(q, uw, ux));
            }
        }
    }
}
