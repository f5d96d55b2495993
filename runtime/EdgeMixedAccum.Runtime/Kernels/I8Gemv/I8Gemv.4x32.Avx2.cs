using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// AVX2, 4 rows x 32 columns per step (one x load and |x| serve four rows). Exactness: VPMADDUBSW multiplies
/// unsigned by signed bytes and saturates each pair sum to int16, so x's sign moves onto w (VPSIGNB): |x| *
/// (w*sgn x) = w*x, and |x|*|w| for the magnitude. With |w|,|x| <= 127 a pair is at most 2*127*127 = 32258 <
/// 32767: no saturation (the golden table's all-+-127 cases pin this). VPMADDWD by 1 then widens pairs to
/// int32.
/// Contract: as <see cref="I8Gemv4x32X86Tile"/>, whose tile loop this kernel plugs its step into.
/// </summary>
internal static class I8Gemv4x32Avx2
{
    public static void Run(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, Span<int> absDot, int rows, int k)
        => I8Gemv4x32X86Tile.Run<Op>(w, x, dot, absDot, rows, k);

    private struct Op : I8Gemv4x32X86Tile.IStep
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step<TAbs>(Vector256<byte> ux, Vector256<sbyte> xv, Vector256<sbyte> wv, ref Vector256<int> d, ref Vector256<int> a)
            where TAbs : struct, IAbsMode
        {
            var ones = Vector256.Create((short)1);
            d += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(ux, Avx2.Sign(wv, xv)), ones);
            if (TAbs.On) a += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(ux, Avx2.Abs(wv).AsSByte()), ones);
        }
    }
}
