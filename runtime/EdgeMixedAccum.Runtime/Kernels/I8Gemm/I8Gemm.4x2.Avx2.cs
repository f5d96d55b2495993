using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// AVX2, 4 rows x 2 vectors x 16 columns per step: 8 ymm accumulators + 4 w + 1 x + 1 product = 14 of the 16
/// ymm registers, each loaded w row used for two vectors and each x vector for four rows. Both operands are
/// sign-extended to int16 (VPMOVSXBW) and multiplied by VPMADDWD (signed x signed, pairs into int32): no sign
/// trick, exact for any int8, int32 totals exact for k &lt;= MaxK.
/// Contract: as <see cref="I8Gemm4xNX86Tile"/> (4x2 tile), whose sweep this kernel plugs its step into, with
/// 16-column steps: full steps, then, when k % 16 != 0 and k &gt;= 16, one step over [k-16, k) with the x bytes
/// already counted zeroed by a mask (before the sign extension); k &lt; 16 goes through the scalar tail. Reads
/// stay in w[0, rows*k) and x[0, n*k) (16-byte loads inside a row or vector), writes in dot[0, n*rows).
/// </summary>
internal static class I8Gemm4x2Avx2
{
    public static void Run(ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> x, Span<int> dot, int rows, int k, int n)
        => I8Gemm4xNX86Tile.Run4x2<Op, Vector256<short>, Vector256<short>, Vector256<int>>(w, x, dot, rows, k, n);

    private struct Op : I8Gemm4xNX86Tile.IStep<Vector256<short>, Vector256<short>, Vector256<int>>
    {
        public static int Width => 16;
        public static bool Biased => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<short> LoadW(ref sbyte p, nuint j) => Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref p, j));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<short> LoadX(ref sbyte p, nuint j) => Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref p, j));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<short> LoadX(ref sbyte p, nuint j, Vector256<sbyte> mask) => Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref p, j) & mask.GetLower());

        /// <summary>Unused: the step is unbiased.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<short> One(Vector256<sbyte> mask) => default;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Madd(Vector256<int> a, Vector256<short> w, Vector256<short> x) => a + Avx2.MultiplyAddAdjacent(w, x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Reduce4(Vector256<int> a0, Vector256<int> a1, Vector256<int> a2, Vector256<int> a3) => I8GemmX86.Reduce4(a0, a1, a2, a3);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int Sum(Vector256<int> a) => Vector256.Sum(a);
    }
}
