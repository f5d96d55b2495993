using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// Shared by the x86 i8-gemm kernels: the end-of-k horizontal reduction of four row accumulators of one
/// vector into the four consecutive outputs dot[s*rows + i .. i+3] (two VPHADDD levels and one 128-bit add
/// instead of four separate sums) and the column split of k; the tile sweep is <see cref="I8Gemm4xNX86Tile"/>.
/// Wrapping int32 adds throughout.
/// </summary>
internal static class I8GemmX86
{
    /// <summary>How a kernel with steps of <c>width</c> columns (16 or 32) covers [0, k): full steps over [0, Full);
    /// when k % width != 0 and k &gt;= width, one masked step over [Last, k) = [k - width, k) whose x bytes below
    /// Full (already counted) are zeroed by Mask; when k &lt; width, the scalar tail over [Scalar, k) = [0, k).
    /// Every load of a step lies inside its row or vector.</summary>
    public readonly struct Cols
    {
        public readonly nuint Full, Last;
        public readonly int Scalar;
        public readonly bool Masked;
        /// <summary>For a 16-column kernel, the lower 128 bits.</summary>
        public readonly Vector256<sbyte> Mask;

        public Cols(int k, int width)
        {
            int rem = k % width;
            Full = (nuint)(k - rem);
            Masked = rem != 0 && k >= width;
            Last = Masked ? (nuint)(k - width) : 0;
            Scalar = k < width ? 0 : k;
            Mask = Vector256.GreaterThanOrEqual(Vector256<sbyte>.Indices, Vector256.Create((sbyte)(width - rem)));
        }
    }

    /// <summary>[sum a0, sum a1, sum a2, sum a3].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Reduce4(Vector256<int> a0, Vector256<int> a1, Vector256<int> a2, Vector256<int> a3)
    {
        // Per 128-bit lane: hadd(a0, a1) = [a0 pairs, a1 pairs]; hadd again = [a0, a1, a2, a3] lane sums.
        var q = Avx2.HorizontalAdd(Avx2.HorizontalAdd(a0, a1), Avx2.HorizontalAdd(a2, a3));
        return q.GetLower() + q.GetUpper();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Reduce4(Vector512<int> a0, Vector512<int> a1, Vector512<int> a2, Vector512<int> a3) =>
        Reduce4(a0.GetLower() + a0.GetUpper(), a1.GetLower() + a1.GetUpper(), a2.GetLower() + a2.GetUpper(), a3.GetLower() + a3.GetUpper());
}
