namespace EdgeMixedAccum.Numerics;

/// <summary>Order in which an emulated inner product adds its terms.</summary>
public enum Summation : byte
{
    /// <summary>acc = round(acc + t_j), j = 1..n.</summary>
    Recursive = 0,

    /// <summary>
    /// Terms are cut into consecutive blocks of blockSize; each block is summed recursively from +0, and the
    /// block sums are added recursively to the accumulator.
    /// </summary>
    Blocked = 1,
}

/// <summary>
/// Inner products w.x + bias computed as if every operation ran in a low-precision <see cref="FloatFormat"/>,
/// for studying accumulation error (El Arar et al., arXiv 2503.15568). Allocation-free.
/// </summary>
/// <remarks>
/// The accumulator starts at round(bias), i.e. the bias is the first term of the sum (as in hardware that
/// initialises the accumulator with C in D = A*B + C). In blocked mode the accumulator starts at round(bias)
/// and each block sum is added to it, so blockSize &gt;= n equals recursive summation when bias = 0, and
/// blockSize = 1 equals unfused recursive summation (<see cref="Dot"/>) for any bias, fused or not.
/// blockSize is ignored in recursive mode.
/// The inputs w and x are used as given (not rounded to the format); round them beforehand to emulate
/// low-precision storage.
/// </remarks>
public static class EmulatedDot
{
    /// <summary>
    /// Separate multiply and add: p_j = round(w_j x_j) (exact product, one rounding), acc = round(acc + p_j).
    /// </summary>
    /// <exception cref="EmaException">Length mismatch, or Blocked with blockSize &lt; 1.</exception>
    public static double Dot(FloatFormat f, ReadOnlySpan<float> w, ReadOnlySpan<float> x, double bias = 0,
        Summation s = Summation.Recursive, int blockSize = 0)
        => Run(f, w, x, bias, s, blockSize, fused: false);

    /// <summary>
    /// Fused multiply-add: acc = round(acc + w_j x_j) with a single rounding of the exact value.
    /// </summary>
    /// <exception cref="EmaException">Length mismatch, or Blocked with blockSize &lt; 1.</exception>
    public static double DotFma(FloatFormat f, ReadOnlySpan<float> w, ReadOnlySpan<float> x, double bias = 0,
        Summation s = Summation.Recursive, int blockSize = 0)
        => Run(f, w, x, bias, s, blockSize, fused: true);

    /// <summary>
    /// gamma_n = n u / (1 - n u), the classical bound on the relative error of n roundings; +inf once
    /// n u &gt;= 1 (the bound says nothing there).
    /// </summary>
    public static double Gamma(int n, double u)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        double nu = n * u;
        return nu >= 1 ? double.PositiveInfinity : nu / (1 - nu);
    }

    private static double Run(FloatFormat f, ReadOnlySpan<float> w, ReadOnlySpan<float> x, double bias,
        Summation s, int blockSize, bool fused)
    {
        ArgumentNullException.ThrowIfNull(f);
        if (w.Length != x.Length)
            throw new EmaException($"Dot product operands differ in length: {w.Length} vs {x.Length}.");

        double acc = f.Round(bias);
        switch (s)
        {
            case Summation.Recursive:
                return Accumulate(f, acc, w, x, fused);
            case Summation.Blocked:
                if (blockSize < 1)
                    throw new EmaException($"Blocked summation needs a block size >= 1, got {blockSize}.");
                for (int start = 0; start < w.Length; start += blockSize)
                {
                    int len = Math.Min(blockSize, w.Length - start);
                    double block = Accumulate(f, 0.0, w.Slice(start, len), x.Slice(start, len), fused);
                    acc = f.RoundSum(acc, block);
                }
                return acc;
            default:
                throw new EmaException($"Unknown summation mode {s}.");
        }
    }

    private static double Accumulate(FloatFormat f, double acc, ReadOnlySpan<float> w, ReadOnlySpan<float> x, bool fused)
    {
        // A float has 24 significant bits, so w_j * x_j (<= 48 bits, exponent within double range) is exact.
        if (fused)
        {
            for (int j = 0; j < w.Length; j++)
                acc = f.RoundSum(acc, (double)w[j] * x[j]);
        }
        else
        {
            for (int j = 0; j < w.Length; j++)
                acc = f.RoundSum(acc, f.Round((double)w[j] * x[j]));
        }
        return acc;
    }
}
