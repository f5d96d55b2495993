using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// AVX-VNNI, 4 rows x 32 columns per step. VPDPBUSD multiplies unsigned by signed bytes and adds each group of
/// four products straight into int32 (no int16 stage, no saturation in the non-S form), so with the same sign
/// trick as AVX2 (|x| unsigned times w*sgn x, VPSIGNB) both sums are exact: a group is at most 4*127*127 =
/// 64516 and k <= MaxK keeps the int32 total exact.
/// Contract: as <see cref="I8Gemv4x32X86Tile"/>, whose tile loop this kernel plugs its step into.
/// </summary>
internal static class I8Gemv4x32AvxVnni
{
    public static void Run(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, Span<int> absDot, int rows, int k)
        => I8Gemv4x32X86Tile.Run<Op>(w, x, dot, absDot, rows, k);

    private struct Op : I8Gemv4x32X86Tile.IStep
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step<TAbs>(Vector256<byte> ux, Vector256<sbyte> xv, Vector256<sbyte> wv, ref Vector256<int> d, ref Vector256<int> a)
            where TAbs : struct, IAbsMode
        {
            d = AvxVnni.MultiplyWideningAndAdd(d, ux, Avx2.Sign(wv, xv));
            if (TAbs.On) a = AvxVnni.MultiplyWideningAndAdd(a, ux, Avx2.Abs(wv).AsSByte());
        }
    }
}
