namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>The reference: per output one accumulator from 0, j ascending, MathF.FusedMultiplyAdd (one
/// rounding per step, the same bits on every platform). Bounds-checked span reads; any shape.</summary>
internal static class F32GemmNnScalar
{
    public static void Run(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> y, int rows, int k, int n, int ldx)
    {
        F32GemmNnFamily.Check(w, x, y, rows, k, n, ldx);
        for (int i = 0; i < rows; i++)
            for (int q = 0; q < n; q++)
                y[i * n + q] = Dot(w.Slice(i * k, k), x, q, ldx);
    }

    /// <summary>One output in the family's order: also the engine's per-component fp32 recompute of a conv
    /// output on paths that do not run the family (f16acc), so every fp32 conv result has the same bits.</summary>
    public static float Dot(ReadOnlySpan<float> wi, ReadOnlySpan<float> x, int q, int ldx)
    {
        float acc = 0;
        for (int j = 0; j < wi.Length; j++) acc = MathF.FusedMultiplyAdd(wi[j], x[j * ldx + q], acc);
        return acc;
    }
}
