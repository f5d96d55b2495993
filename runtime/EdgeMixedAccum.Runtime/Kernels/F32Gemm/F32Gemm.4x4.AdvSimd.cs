using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// ARM64 NEON (FMLA .4S), tile of 4 rows x 4 input vectors, V = 4: per step of V columns 4 w loads and 4 x
/// loads feed 16 independent accumulators (24 of the 32 V registers), so each w vector serves 4 input vectors
/// and each x vector 4 rows.
/// Order, the same for every output wherever it sits in a tile: one accumulator of V lanes per (row, input
/// vector); step j (multiples of V) adds column j + l to lane l (fused: one rounding per multiply-add); the
/// last k mod V columns, copied into zero-padded V-wide stack buffers, are one more fused step; then
/// (e0 + e1) + (e2 + e3), the horizontal sum of F32GemvRowsFamily.Sum, done for 4 rows at once with FADDP
/// (vector), whose pairs are the same.
/// Tiles: rows sweep outer, input vectors inner, over chunks of x sized by F32GemmFamily.SampleChunk. A tile
/// past the last row or input vector repeats the last one (clamped indices) and stores only the real outputs.
/// Contract: no alignment needed; any shape; F32GemmFamily.Check runs first, so loads stay in
/// w[0, rows*k) and x[0, n*k) and stores in y[0, n*rows).
/// The tile loops are F32GemmTile.Run4x4, run on this ISA's Lanes.
/// </summary>
internal static class F32Gemm4x4AdvSimd
{
    public static void Run(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> y, int rows, int k, int n)
        => F32GemmTile.Run4x4<Vector128<float>, Lanes>(w, x, y, rows, k, n);

    /// <summary>NEON ops, shared with f32-gemv-rows-8x4-advsimd (F32GemvRows8x4AdvSimd).</summary>
    internal struct Lanes : IF32Lanes<Vector128<float>>
    {
        public static int Width => 4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Load(ref float p, nuint i) => Vector128.LoadUnsafe(ref p, i);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> MulAdd(Vector128<float> acc, Vector128<float> w, Vector128<float> x) => AdvSimd.FusedMultiplyAdd(acc, w, x);

        /// <summary>The 4 horizontal sums in F32GemvRowsFamily.Sum's order: FADDP twice gives (e0 + e1) + (e2 + e3) of each.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Sum4(Vector128<float> a, Vector128<float> b, Vector128<float> c, Vector128<float> d) =>
            AdvSimd.Arm64.AddPairwise(AdvSimd.Arm64.AddPairwise(a, b), AdvSimd.Arm64.AddPairwise(c, d));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Sum(Vector128<float> v) => F32GemvRowsFamily.Sum(v);
    }
}
