using System.Numerics;

namespace EdgeMixedAccum.Runtime.Engine;

/// <summary>How outputs are compared everywhere (eval, calibration, study): top-1 and the norm-wise relative error.</summary>
public static class OutputMetrics
{
    /// <summary>Index of the first largest value (NaN never wins).</summary>
    public static int ArgMax<T>(ReadOnlySpan<T> v) where T : INumber<T>
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    /// <summary>||y - r||_2 / ||r||_2 in fp64; 0 when both are zero, +inf when only r is; NaN when y or r holds NaN.</summary>
    public static double RelativeError<TY, TR>(ReadOnlySpan<TY> y, ReadOnlySpan<TR> reference)
        where TY : INumberBase<TY> where TR : INumberBase<TR>
    {
        double num = 0, den = 0;
        for (int j = 0; j < y.Length; j++)
        {
            double r = double.CreateTruncating(reference[j]), d = double.CreateTruncating(y[j]) - r;
            num += d * d; den += r * r;
        }
        return den == 0 ? (num == 0 ? 0 : double.PositiveInfinity) : Math.Sqrt(num / den);
    }
}
