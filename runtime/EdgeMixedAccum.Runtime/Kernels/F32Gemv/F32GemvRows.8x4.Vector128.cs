using System.Runtime.Intrinsics;

namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// Portable Vector128 (SSE on x64, NEON on ARM64), 8 listed rows per step (then 4), V = 4: per step of V columns
/// one x load and 8 w loads feed 8 independent accumulators, one per row.
/// Order, exactly that of f32-gemm-4x2-vector128 (F32Gemm4x2Vector128) for every row, wherever it sits in the
/// list: one accumulator of V lanes per row; step j (multiples of V) adds column j + l to lane l (unfused: the
/// product is rounded, then added); the last k mod V columns, copied into zero-padded V-wide stack buffers (x's
/// tail once per call, each row's tail per row), are one more unfused step; then (e0 + e1) + (e2 + e3), the
/// horizontal sum of F32GemvRowsFamily.Sum. The last rows.Length mod 4 rows go one at a time in the same order.
/// So y[r] is bit-identical to f32-gemm-4x2-vector128's output for row rows[r] and input vector x.
/// Contract: no alignment needed; any k (0 gives 0) and row list (empty, unordered, repeats); each listed row
/// is checked to lie inside w before its loads, so reads stay in w[row*k, row*k + k) and x[0, k), and writes
/// in y[0, rows.Length).
/// The row loop is F32GemvRowsTile.Run, run on F32Gemm4x2Vector128.Lanes: the same ops struct as that f32-gemm variant.
/// </summary>
internal static class F32GemvRows8x4Vector128
{
    public static void Run(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<int> rows, Span<float> y, int k)
        => F32GemvRowsTile.Run<Vector128<float>, F32Gemm4x2Vector128.Lanes>(w, x, rows, y, k);
}
