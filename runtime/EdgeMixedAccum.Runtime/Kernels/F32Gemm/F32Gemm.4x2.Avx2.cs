using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// AVX2 + FMA (VFMADD231PS ymm; in .NET 10 Avx2 support implies FMA, the x86-64-v3 level), tile of 4 rows x 2
/// input vectors, V = 8: per step of V columns 4 w loads and 2 x loads feed 8 independent accumulators (13 of
/// the 16 ymm registers a non-AVX-512 CPU has), so each w vector serves 2 input vectors and each x vector 4 rows.
/// Order, the same for every output wherever it sits in a tile: one accumulator of V lanes per (row, input
/// vector); step j (multiples of V) adds column j + l to lane l (fused: one rounding per multiply-add); the
/// last k mod V columns, copied into zero-padded V-wide stack buffers, are one more fused step; then the
/// horizontal sum of F32GemvRowsFamily.Sum (fold halves down to 128 bits, then (e0 + e1) + (e2 + e3)), done
/// for 4 rows at once with HADDPS, whose pairs are the same.
/// Tiles: rows sweep outer, input vectors inner, over chunks of x sized by F32GemmFamily.SampleChunk. A tile
/// past the last row or input vector repeats the last one (clamped indices) and stores only the real outputs.
/// Contract: no alignment needed; any shape; F32GemmFamily.Check runs first, so loads stay in
/// w[0, rows*k) and x[0, n*k) and stores in y[0, n*rows).
/// The tile loops are F32GemmTile.Run4x2, run on this ISA's Lanes.
/// </summary>
internal static class F32Gemm4x2Avx2
{
    public static void Run(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> y, int rows, int k, int n)
        => F32GemmTile.Run4x2<Vector256<float>, Lanes>(w, x, y, rows, k, n);

    /// <summary>AVX2 + FMA ops, shared with f32-gemv-rows-8x8-avx2 (F32GemvRows8x8Avx2).</summary>
    internal struct Lanes : IF32Lanes<Vector256<float>>
    {
        public static int Width => 8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load(ref float p, nuint i) => Vector256.LoadUnsafe(ref p, i);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> MulAdd(Vector256<float> acc, Vector256<float> w, Vector256<float> x) => Fma.MultiplyAdd(w, x, acc);

        /// <summary>The 4 horizontal sums in F32GemvRowsFamily.Sum's order: halves folded to 128 bits, then
        /// HADDPS twice gives (e0 + e1) + (e2 + e3) of each.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Sum4(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d) =>
            Sse3.HorizontalAdd(Sse3.HorizontalAdd(a.GetLower() + a.GetUpper(), b.GetLower() + b.GetUpper()),
                               Sse3.HorizontalAdd(c.GetLower() + c.GetUpper(), d.GetLower() + d.GetUpper()));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Sum(Vector256<float> v) => F32GemvRowsFamily.Sum(v);
    }
}
