namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// The fixed-order reference: per listed row one float accumulator, j ascending, s = s + w*x with the
/// product rounded before the add (the JIT does not contract to FMA), so its bits are the same on every
/// platform and pinned by the golden CRC. Any k (0 gives 0) and any row count; bounds-checked span reads.
/// </summary>
internal static class F32GemvRowsScalar
{
    public static void Run(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<int> rows, Span<float> y, int k)
    {
        F32GemvRowsFamily.Check(x, rows, y, k);
        x = x[..k];
        for (int r = 0; r < rows.Length; r++)
        {
            F32GemvRowsFamily.CheckRow(rows[r], k, w.Length);
            var wr = w.Slice(rows[r] * k, k);
            float s = 0;
            for (int j = 0; j < wr.Length; j++) s += wr[j] * x[j];
            y[r] = s;
        }
    }
}
