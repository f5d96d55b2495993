namespace EdgeMixedAccum.Runtime.Engine;

/// <summary>
/// The constants of the per-component bounds (docs/engine.md derives each term). Every bound is an upper
/// bound on |s_hat_i - s_i| where s_i = sum_j w_ij x_j + b_i is the exact value with the model's stored fp32
/// weights (int8 dequantised) and the layer's fp32 input, so a looser term only recomputes more.
/// </summary>
internal static class ErrorModel
{
    /// <summary>Unit roundoff of fp16 (2^-11) and fp32 (2^-24).</summary>
    public const double U16 = 1.0 / 2048, U32 = 1.0 / 16777216;
    /// <summary>Half the smallest fp16 subnormal: the absolute error of one rounding in the subnormal range.</summary>
    public const double Eta16 = 1.0 / 33554432; // 2^-25

    /// <summary>gamma_n(u) = n u / (1 - n u), +inf once n u &gt;= 1 (no bound: always flagged).</summary>
    public static double Gamma(double n, double u) => n * u >= 1 ? double.PositiveInfinity : n * u / (1 - n * u);

    /// <summary>Sequential length of the f16acc order: k/8 fused adds per lane, then three tree levels.</summary>
    public static int F16Depth(int k) => (k + 7) / 8 + 3;

    /// <summary>Rounds a non-negative fp64 value up to fp32, so a bound stored in fp32 stays an upper bound.</summary>
    public static float RoundUp(double v)
    {
        float f = (float)v;
        return f < v ? MathF.BitIncrement(f) : f;
    }
}
