namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>
/// The fixed-order reference: per output (s, i) one float accumulator, j ascending, acc = acc + w*x with the
/// product rounded before the add (the JIT does not contract to FMA), so its bits are the same on every
/// platform and pinned by the golden CRC. Any shape (k = 0 gives 0); bounds-checked span reads.
/// </summary>
internal static class F32GemmScalar
{
    public static void Run(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> y, int rows, int k, int n)
    {
        F32GemmFamily.Check(w, x, y, rows, k, n);
        for (int s = 0; s < n; s++)
        {
            var xs = x.Slice(s * k, k);
            var ys = y.Slice(s * rows, rows);
            for (int i = 0; i < rows; i++)
            {
                var wi = w.Slice(i * k, k);
                float acc = 0;
                for (int j = 0; j < wi.Length; j++) acc += wi[j] * xs[j];
                ys[i] = acc;
            }
        }
    }
}
