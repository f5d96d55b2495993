using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// AVX-512F (VFMADD231PS zmm), tile of 4 rows x 4 input vectors, V = 16: per step of V columns 4 w loads and
/// 4 x loads feed 16 independent accumulators (21 of the 32 zmm registers), so each w vector serves 4 input
/// vectors and each x vector 4 rows.
/// Order, the same for every output wherever it sits in a tile: one accumulator of V lanes per (row, input
/// vector); step j (multiples of V) adds column j + l to lane l (fused: one rounding per multiply-add); the
/// last k mod V columns, copied into zero-padded V-wide stack buffers, are one more fused step; then the
/// horizontal sum of F32GemvRowsFamily.Sum (fold halves down to 128 bits, then (e0 + e1) + (e2 + e3)), done
/// for 4 rows at once with HADDPS, whose pairs are the same.
/// Tiles: rows sweep outer, input vectors inner, over chunks of x sized by F32GemmFamily.SampleChunk. A tile
/// past the last row or input vector repeats the last one (clamped indices) and stores only the real outputs.
/// Contract: no alignment needed; any shape; F32GemmFamily.Check runs first, so loads stay in
/// w[0, rows*k) and x[0, n*k) and stores in y[0, n*rows).
/// The tile loops are F32GemmTile.Run4x4, run on this ISA's Lanes.
/// </summary>
internal static class F32Gemm4x4Avx512F
{
    public static void Run(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> y, int rows, int k, int n)
        => F32GemmTile.Run4x4<Vector512<float>, Lanes>(w, x, y, rows, k, n);

    /// <summary>AVX-512F ops, shared with f32-gemv-rows-8x16-avx512f (F32GemvRows8x16Avx512F).</summary>
    internal struct Lanes : IF32Lanes<Vector512<float>>
    {
        public static int Width => 16;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load(ref float p, nuint i) => Vector512.LoadUnsafe(ref p, i);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> MulAdd(Vector512<float> acc, Vector512<float> w, Vector512<float> x) => Avx512F.FusedMultiplyAdd(w, x, acc);

        /// <summary>The 4 horizontal sums in F32GemvRowsFamily.Sum's order: halves folded to 128 bits, then
        /// HADDPS twice gives (e0 + e1) + (e2 + e3) of each.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Sum4(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d) =>
            Sse3.HorizontalAdd(Sse3.HorizontalAdd(Fold(a), Fold(b)), Sse3.HorizontalAdd(Fold(c), Fold(d)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Sum(Vector512<float> v) => F32GemvRowsFamily.Sum(v);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<float> Fold(Vector512<float> v)
        {
            var h = v.GetLower() + v.GetUpper();
            return h.GetLower() + h.GetUpper();
        }
    }
}
