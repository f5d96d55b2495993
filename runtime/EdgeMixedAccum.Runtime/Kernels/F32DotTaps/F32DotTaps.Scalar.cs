namespace EdgeMixedAccum.Runtime.Kernels;

/// <summary>The reference: the family's order written out with 4 x 16 accumulators in an array,
/// MathF.FusedMultiplyAdd (one rounding per step, the same bits on every platform). Bounds-checked reads.</summary>
internal readonly struct F32DotTapsScalar : IDotTapsOne
{
    public static void Run(ReadOnlySpan<float> w, ReadOnlySpan<float> x, TapOffsets off, int first, ReadOnlySpan<int> at, Span<float> y) =>
        F32DotTapsFamily.RunEach<F32DotTapsScalar>(w, x, off, first, at, y);

    public static float Dot(ReadOnlySpan<float> w, ReadOnlySpan<float> x, ReadOnlySpan<int> xOff, int len)
    {
        Span<float> acc = stackalloc float[64];
        acc.Clear();
        for (int t = 0; t < xOff.Length; t++)
        {
            int o = xOff[t];
            if (o < 0) continue;
            for (int c = 0; c < len; c++)
            {
                int a = (c / 16 % 4) * 16 + c % 16;
                acc[a] = MathF.FusedMultiplyAdd(w[t * len + c], x[o + c], acc[a]);
            }
        }
        Span<float> v = stackalloc float[16];
        for (int l = 0; l < 16; l++) v[l] = (acc[l] + acc[16 + l]) + (acc[32 + l] + acc[48 + l]);
        for (int h = 8; h >= 1; h /= 2)
            for (int l = 0; l < h; l++) v[l] += v[l + h];
        return v[0];
    }
}
