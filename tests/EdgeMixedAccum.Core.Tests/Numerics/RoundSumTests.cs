using System.Numerics;
using EdgeMixedAccum.Numerics;
using static EdgeMixedAccum.Tests.Numerics.FloatFormatTests;

namespace EdgeMixedAccum.Tests.Numerics;

/// <summary>
/// RoundSum(acc, p) = round(acc + p) with one rounding, the core of the fused multiply-add. The hazard is a
/// sum needing more than 53 bits whose nearest double is a midpoint of the target format.
/// </summary>
public class RoundSumTests
{
    private static readonly double Ulp1 = Math.Pow(2, -23);

    [Fact]
    public void Fp16FusedDoubleRoundingCaseIsRoundedOnce()
    {
        // acc = 1 + 2^-10 (odd mantissa); w*x = 2^-11 (1 + 2^-23)(1 - 2^-23) = 2^-11 - 2^-57.
        // Exact sum = midpoint(1 + 2^-10, 1 + 2^-9) - 2^-57: correct fp16 result is 1 + 2^-10.
        // The nearest double to the sum is the midpoint itself, which then ties to the even 1 + 2^-9.
        double acc = 1 + Math.Pow(2, -10);
        float w = (float)(Math.Pow(2, -11) * (1 + Ulp1));
        float x = (float)(1 - Ulp1);
        Assert.Equal(Math.Pow(2, -11) * (1 + Ulp1), (double)w);
        Assert.Equal(1 - Ulp1, (double)x);

        double naive = (double)(Half)Math.FusedMultiplyAdd(w, x, acc);
        Assert.Equal(1 + Math.Pow(2, -9), naive);                       // wrong: double-rounded

        var exact = Exact.Product(w, x) + Exact.Of(acc);
        Assert.Equal(1 + Math.Pow(2, -10), Exact.RoundRne(exact, FloatFormat.Fp16));
        Assert.Equal(1 + Math.Pow(2, -10), FloatFormat.Fp16.RoundSum(acc, (double)w * x));
        Assert.Equal(1 + Math.Pow(2, -10), EmulatedDot.DotFma(FloatFormat.Fp16, [w], [x], bias: acc));
        Assert.Equal(-(1 + Math.Pow(2, -10)), EmulatedDot.DotFma(FloatFormat.Fp16, [-w], [x], bias: -acc));

        // Unfused Dot rounds the product first (to exactly 2^-11), so the tie to even is its correct answer.
        Assert.Equal(1 + Math.Pow(2, -9), EmulatedDot.Dot(FloatFormat.Fp16, [w], [x], bias: acc));
    }

    [Fact]
    public void Fp16FusedDoubleRoundingCaseFromAbove()
    {
        // acc = 1 + 2^-9 + 2^-10 (mantissa 3, odd); w*x = -2^-11 (1 - 2^-46) = -2^-11 + 2^-57.
        // Exact sum = midpoint(1 + 2^-9, acc) + 2^-57: correct fp16 result is acc, the naive double result is
        // the midpoint, which ties to the even 1 + 2^-9.
        double acc = 1 + Math.Pow(2, -9) + Math.Pow(2, -10);
        float w = (float)(-Math.Pow(2, -11) * (1 + Ulp1));
        float x = (float)(1 - Ulp1);
        double naive = (double)(Half)Math.FusedMultiplyAdd(w, x, acc);
        Assert.Equal(1 + Math.Pow(2, -9), naive);
        Assert.Equal(acc, FloatFormat.Fp16.RoundSum(acc, (double)w * x));
    }

    [Fact]
    public void Bf16FusedDoubleRoundingCase()
    {
        double acc = 1 + Math.Pow(2, -7);
        float w = (float)(Math.Pow(2, -8) * (1 + Ulp1));
        float x = (float)(1 - Ulp1);
        double naive = FloatFormat.Bf16.Round(Math.FusedMultiplyAdd(w, x, acc));
        Assert.Equal(1 + Math.Pow(2, -6), naive);
        Assert.Equal(acc, FloatFormat.Bf16.RoundSum(acc, (double)w * x));
        Assert.Equal(acc, EmulatedDot.DotFma(FloatFormat.Bf16, [w], [x], bias: acc));
    }

    /// <summary>
    /// Near-tie sums built systematically: for each accumulator value a of the format and each midpoint m of
    /// the format, p = (m - a) * t with t in {1, 1 +- 2^-23, 1 +- 2^-24 ...} as a product of two floats.
    /// Exhaustive over (a, m) for the fp8 formats, checked against the brute-force reference.
    /// </summary>
    [Theory]
    [InlineData("fp8-e4m3")]
    [InlineData("fp8-e4m3-ieee")]
    [InlineData("fp8-e5m2")]
    public void Fp8NearTieSumsAreExhaustivelyCorrect(string name)
    {
        var f = FloatFormat.Parse(name);
        var reference = name switch
        {
            "fp8-e4m3" => Fp8BruteForce.E4M3,
            "fp8-e4m3-ieee" => Fp8BruteForce.E4M3Ieee,
            _ => Fp8BruteForce.E5M2,
        };
        var values = new List<double>();
        for (uint b = 0; b < 256; b++)
            if (double.IsFinite(f.Decode(b)))
                values.Add(f.Decode(b));
        var pos = values.Where(v => v >= 0).Distinct().Order().ToArray();
        var midpoints = pos.Zip(pos.Skip(1), (lo, hi) => (lo + hi) / 2).ToList();
        midpoints.Add(f.MaxFinite + Math.ScaleB(1, f.MaxExponent - f.MantissaBits - 1));   // overflow tie
        midpoints.AddRange(midpoints.Select(m => -m).ToArray());
        float[] perturb = [1f, (float)(1 + Ulp1), (float)(1 - Ulp1), (float)(1 - Ulp1 / 2)];

        int checkedCount = 0;
        foreach (double a in values)
        {
            foreach (double m in midpoints)
            {
                float d = (float)(m - a);
                if ((double)d != m - a)
                    continue;   // offset not a float: not a product we can form exactly this way
                foreach (float t in perturb)
                {
                    double p = (double)d * t;
                    BigInteger exact = Exact.Of(a) + Exact.Product(d, t);
                    double expected = exact.IsZero ? f.Round(a + p) : reference.Round(exact);
                    AssertSame(expected, f.RoundSum(a, p), $"{name}: {a:R} + {d:R}*{t:R}");
                    checkedCount++;
                }
            }
        }
        Assert.True(checkedCount > 100_000, $"only {checkedCount} cases");
    }

    /// <summary>
    /// fp16 and bf16: a random accumulator a, a midpoint m a few ulps away, and p = (m - a)(1 + e)(1 - e)
    /// = (m - a)(1 - e^2) as a product of two floats. The exact sum misses m by (m - a) e^2, far below the
    /// last bit of a double, so a naive double sum lands on the midpoint: the double-rounding hazard.
    /// </summary>
    [Theory]
    [InlineData("fp16")]
    [InlineData("bf16")]
    public void WideNearTieSumsMatchTheExactReference(string name)
    {
        var f = FloatFormat.Parse(name);
        var rng = new Random(name.Length);
        double[] eps = [0, Math.Pow(2, -23), Math.Pow(2, -22), Math.Pow(2, -21), Math.Pow(2, -12)];
        int cases = 0, naiveWrong = 0;
        for (int i = 0; i < 20_000; i++)
        {
            double a = f.Decode((uint)rng.Next(1 << f.TotalBits));
            if (!double.IsFinite(a))
                continue;
            int e = a == 0 ? f.MinExponent : Math.Max(Math.ILogB(a), f.MinExponent);
            double m = a + (rng.Next(-4, 4) + 0.5) * Math.ScaleB(1, e - f.MantissaBits);
            double d = m - a;   // exact: a few bits
            foreach (double ep in eps)
            {
                float w = (float)(d * (1 + ep));
                float x = (float)(1 - ep);
                if ((double)w != d * (1 + ep) || (double)x != 1 - ep)
                    continue;   // not both floats: skip
                double p = (double)w * x;
                BigInteger exact = Exact.Of(a) + Exact.Product(w, x);
                double expected = exact.IsZero ? f.Round(a + p) : Exact.RoundRne(exact, f);
                AssertSame(expected, f.RoundSum(a, p), $"{name}: {a:R} + {w:R}*{x:R}");
                cases++;
                if (!SameDouble(expected, f.Round(a + p)))
                    naiveWrong++;
            }
        }
        Assert.True(cases > 20_000, $"only {cases} cases");
        Assert.True(naiveWrong > 100, $"only {naiveWrong} cases where naive double rounding fails: generator too weak");
    }

    [Fact]
    public void RandomFloatProductsPlusAccumulatorMatchTheExactReference()
    {
        var rng = new Random(99);
        foreach (var f in new[] { FloatFormat.Fp16, FloatFormat.Bf16, FloatFormat.Fp32 })
        {
            for (int i = 0; i < 20_000; i++)
            {
                double a = f.Round(RandomDouble(rng, -20, 14));
                float w = (float)RandomDouble(rng, -30, 10);
                float x = (float)RandomDouble(rng, -30, 10);
                BigInteger exact = Exact.Of(a) + Exact.Product(w, x);
                double expected = exact.IsZero ? 0.0 : Exact.RoundRne(exact, f);
                AssertSame(expected, f.RoundSum(a, (double)w * x), $"{f.Name}: {a:R} + {w:R}*{x:R}");
            }
        }
    }

    [Fact]
    public void SpecialOperands()
    {
        var f = FloatFormat.Fp16;
        AssertSame(0.0, f.RoundSum(1, -1));
        AssertSame(-0.0, f.RoundSum(-0.0, -0.0));
        AssertSame(0.0, f.RoundSum(0.0, -0.0));
        AssertSame(double.PositiveInfinity, f.RoundSum(65504, 16));
        AssertSame(65504, f.RoundSum(65504, 15.999));
        Assert.True(double.IsNaN(f.RoundSum(double.PositiveInfinity, double.NegativeInfinity)));
        AssertSame(double.NegativeInfinity, f.RoundSum(double.NegativeInfinity, 1));
        AssertSame(448, FloatFormat.Fp8E4M3.RoundSum(448, 448));
        AssertSame(-0.0, f.RoundSum(-Math.Pow(2, -30), Math.Pow(2, -60)));   // underflow keeps the sign
    }
}
