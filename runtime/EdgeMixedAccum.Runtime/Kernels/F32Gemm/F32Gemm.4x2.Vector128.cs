using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// Portable Vector128 (SSE on x64, NEON on ARM64), tile of 4 rows x 2 input vectors, V = 4: per step of V
/// columns 4 w loads and 2 x loads feed 8 independent accumulators (13 registers, within the 16 of SSE), so
/// each w vector serves 2 input vectors and each x vector 4 rows.
/// Order, the same for every output wherever it sits in a tile: one accumulator of V lanes per (row, input
/// vector); step j (multiples of V) adds column j + l to lane l (unfused: the product is rounded, then added);
/// the last k mod V columns, copied into zero-padded V-wide stack buffers, are one more unfused step; then
/// (e0 + e1) + (e2 + e3), the horizontal sum of F32GemvRowsFamily.Sum.
/// Tiles: rows sweep outer, input vectors inner, over chunks of x sized by F32GemmFamily.SampleChunk. A tile
/// past the last row or input vector repeats the last one (clamped indices) and stores only the real outputs.
/// Contract: no alignment needed; any shape; F32GemmFamily.Check runs first, so loads stay in
/// w[0, rows*k) and x[0, n*k) and stores in y[0, n*rows).
/// The tile loops are F32GemmTile.Run4x2, run on this ISA's Lanes.
/// </summary>
internal static class F32Gemm4x2Vector128
{
    public static void Run(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> y, int rows, int k, int n)
        => F32GemmTile.Run4x2<Vector128<float>, Lanes>(w, x, y, rows, k, n);

    /// <summary>Portable Vector128 ops, shared with f32-gemv-rows-8x4-vector128 (F32GemvRows8x4Vector128).</summary>
    internal struct Lanes : IF32Lanes<Vector128<float>>
    {
        public static int Width => 4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Load(ref float p, nuint i) => Vector128.LoadUnsafe(ref p, i);

        /// <summary>acc + w*x as two roundings, the same on every platform Vector128 maps to.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> MulAdd(Vector128<float> acc, Vector128<float> w, Vector128<float> x) => acc + w * x;

        /// <summary>The 4 horizontal sums, each in F32GemvRowsFamily.Sum's order (e0 + e1) + (e2 + e3).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Sum4(Vector128<float> a, Vector128<float> b, Vector128<float> c, Vector128<float> d) =>
            Vector128.Create(F32GemvRowsFamily.Sum(a), F32GemvRowsFamily.Sum(b), F32GemvRowsFamily.Sum(c), F32GemvRowsFamily.Sum(d));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Sum(Vector128<float> v) => F32GemvRowsFamily.Sum(v);
    }
}
