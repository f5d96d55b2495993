using System.Numerics;
using EdgeMixedAccum.Numerics;
using static EdgeMixedAccum.Tests.Numerics.FloatFormatTests;

namespace EdgeMixedAccum.Tests.Numerics;

public class EmulatedDotTests
{
    private static readonly FloatFormat F16 = FloatFormat.Fp16;

    private static float[] RandomVector(Random rng, int n, int minExp, int maxExp)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++)
            v[i] = (float)RandomDouble(rng, minExp, maxExp);
        return v;
    }

    /// <summary>Independent fp16 reference: System.Half storage and Half + (correctly rounded via float).</summary>
    private static double HalfDot(float[] w, float[] x, double bias)
    {
        Half acc = (Half)bias;
        for (int j = 0; j < w.Length; j++)
            acc += (Half)((double)w[j] * x[j]);
        return (double)acc;
    }

    /// <summary>Blocked fp16 reference: each block summed from +0 in Half, block sums added to (Half)bias.</summary>
    private static double HalfDotBlocked(float[] w, float[] x, double bias, int blockSize)
    {
        Half acc = (Half)bias;
        for (int start = 0; start < w.Length; start += blockSize)
        {
            Half block = (Half)0.0;
            for (int j = start; j < Math.Min(w.Length, start + blockSize); j++)
                block += (Half)((double)w[j] * x[j]);
            acc += block;
        }
        return (double)acc;
    }

    private static bool BothNegativeZero(double a, double b)
        => a == 0 && b == 0 && double.IsNegative(a) && double.IsNegative(b);

    /// <summary>Brute-force fp8 reference with exact products and sums (BigInteger), recursive order.</summary>
    private static double Fp8Dot(Fp8BruteForce r, float[] w, float[] x, double bias, bool fused)
    {
        double acc = r.Round(bias);
        for (int j = 0; j < w.Length; j++)
        {
            double prod = (double)w[j] * x[j];
            BigInteger exactProduct = Exact.Product(w[j], x[j]);
            double term = fused ? prod : r.Round(exactProduct, double.IsNegative(prod));
            BigInteger sum = Exact.Of(acc) + (fused ? exactProduct : Exact.Of(term));
            acc = r.Round(sum, BothNegativeZero(acc, term));
        }
        return acc;
    }

    [Fact]
    public void Fp16RecursiveDotMatchesSystemHalf()
    {
        var rng = new Random(1);
        foreach (int n in new[] { 0, 1, 2, 7, 64, 300 })
        {
            for (int rep = 0; rep < 40; rep++)
            {
                // Wide exponents exercise underflow of products, overflow to inf and cancellation.
                int maxExp = rep % 4 == 0 ? 9 : 3;
                var w = RandomVector(rng, n, -14, maxExp);
                var x = RandomVector(rng, n, -14, maxExp);
                double bias = rep % 2 == 0 ? 0 : RandomDouble(rng, -5, 5);
                AssertSame(HalfDot(w, x, bias), EmulatedDot.Dot(F16, w, x, bias), $"n={n} rep={rep}");
            }
        }
    }

    [Fact]
    public void Fp16BlockedDotMatchesSystemHalf()
    {
        var rng = new Random(2);
        foreach (int block in new[] { 1, 3, 16, 64 })
        {
            for (int rep = 0; rep < 20; rep++)
            {
                var w = RandomVector(rng, 100, -10, 3);
                var x = RandomVector(rng, 100, -10, 3);
                double bias = RandomDouble(rng, -3, 3);
                AssertSame(HalfDotBlocked(w, x, bias, block), EmulatedDot.Dot(F16, w, x, bias, Summation.Blocked, block),
                    $"block={block} rep={rep}");
            }
        }
    }

    [Fact]
    public void Fp16FusedDotMatchesTheExactReference()
    {
        var rng = new Random(3);
        for (int rep = 0; rep < 60; rep++)
        {
            var w = RandomVector(rng, 50, -12, 3);
            var x = RandomVector(rng, 50, -12, 3);
            double bias = RandomDouble(rng, -3, 3);
            double acc = F16.Round(bias);
            for (int j = 0; j < w.Length; j++)
            {
                BigInteger sum = Exact.Of(acc) + Exact.Product(w[j], x[j]);
                acc = sum.IsZero ? 0.0 : Exact.RoundRne(sum, F16);
            }
            AssertSame(acc, EmulatedDot.DotFma(F16, w, x, bias), $"rep={rep}");
        }
    }

    [Theory]
    [InlineData("fp8-e4m3")]
    [InlineData("fp8-e4m3-ieee")]
    [InlineData("fp8-e5m2")]
    public void Fp8DotsMatchTheBruteForceReference(string name)
    {
        var f = FloatFormat.Parse(name);
        var reference = name switch
        {
            "fp8-e4m3" => Fp8BruteForce.E4M3,
            "fp8-e4m3-ieee" => Fp8BruteForce.E4M3Ieee,
            _ => Fp8BruteForce.E5M2,
        };
        var rng = new Random(name.Length * 7);
        for (int rep = 0; rep < 60; rep++)
        {
            int n = rng.Next(1, 80);
            // Some vectors are large enough to overflow/saturate, some small enough to underflow.
            int maxExp = rep % 3 == 0 ? 6 : 2;
            var w = RandomVector(rng, n, -8, maxExp);
            var x = RandomVector(rng, n, -8, maxExp);
            double bias = rep % 2 == 0 ? 0 : RandomDouble(rng, -4, 4);
            AssertSame(Fp8Dot(reference, w, x, bias, fused: false), EmulatedDot.Dot(f, w, x, bias), $"{name} rep={rep}");
            AssertSame(Fp8Dot(reference, w, x, bias, fused: true), EmulatedDot.DotFma(f, w, x, bias), $"{name} fma rep={rep}");
        }
    }

    [Fact]
    public void BlockedEdgeCasesReduceToRecursive()
    {
        var rng = new Random(4);
        foreach (var f in FloatFormat.Predefined)
        {
            for (int rep = 0; rep < 10; rep++)
            {
                int n = rng.Next(1, 200);
                var w = RandomVector(rng, n, -6, 2);
                var x = RandomVector(rng, n, -6, 2);
                double bias = RandomDouble(rng, -2, 2);
                AssertSame(EmulatedDot.Dot(f, w, x), EmulatedDot.Dot(f, w, x, 0, Summation.Blocked, n), f.Name);
                AssertSame(EmulatedDot.Dot(f, w, x), EmulatedDot.Dot(f, w, x, 0, Summation.Blocked, n + 5), f.Name);
                AssertSame(EmulatedDot.DotFma(f, w, x), EmulatedDot.DotFma(f, w, x, 0, Summation.Blocked, n), f.Name);
                AssertSame(EmulatedDot.Dot(f, w, x, bias), EmulatedDot.Dot(f, w, x, bias, Summation.Blocked, 1), f.Name);
                // Fused blocks of one term round the product before it meets the accumulator: that is Dot.
                AssertSame(EmulatedDot.Dot(f, w, x, bias), EmulatedDot.DotFma(f, w, x, bias, Summation.Blocked, 1), f.Name);
            }
        }
    }

    [Fact]
    public void BlockedSumsBlocksThenAddsBlockSumsToTheBias()
    {
        // fp16: 2048 + 1 + 1 recursively loses both ones (ulp at 2048 is 2), blocked [1,1] first keeps them.
        float[] w = [1, 1, 1, 1];
        float[] x = [0, 0, 1, 1];
        Assert.Equal(2048, EmulatedDot.Dot(F16, w, x, bias: 2048));
        Assert.Equal(2050, EmulatedDot.Dot(F16, w, x, bias: 2048, Summation.Blocked, blockSize: 2));
        Assert.Equal(2048, EmulatedDot.Dot(F16, w, x, bias: 2048, Summation.Blocked, blockSize: 1));
    }

    [Theory]
    [InlineData("fp16", 1000)]
    [InlineData("bf16", 120)]
    [InlineData("fp8-e4m3", 12)]
    public void ErrorStaysWithinGammaNBound(string name, int maxN)
    {
        // |dot_f - dot| <= gamma_n sum |w_j x_j| (no underflow: |w|, |x| in [1/4, 1), no overflow).
        var f = FloatFormat.Parse(name);
        var rng = new Random(maxN);
        for (int rep = 0; rep < 30; rep++)
        {
            int n = rng.Next(1, maxN + 1);
            var w = RandomVector(rng, n, -2, -1);
            var x = RandomVector(rng, n, -2, -1);
            double exact = 0, absSum = 0;
            for (int j = 0; j < n; j++)
            {
                exact += (double)w[j] * x[j];
                absSum += Math.Abs((double)w[j] * x[j]);
            }
            double bound = EmulatedDot.Gamma(n, f.UnitRoundoff) * absSum + 1e-12 * absSum;
            int block = Math.Max(1, (int)Math.Sqrt(n));
            Assert.True(Math.Abs(EmulatedDot.Dot(f, w, x) - exact) <= bound, $"{name} n={n} recursive");
            Assert.True(Math.Abs(EmulatedDot.DotFma(f, w, x) - exact) <= bound, $"{name} n={n} fma");
            Assert.True(Math.Abs(EmulatedDot.Dot(f, w, x, 0, Summation.Blocked, block) - exact) <= bound, $"{name} n={n} blocked");
        }
    }

    [Fact]
    public void GammaHelper()
    {
        Assert.Equal(0, EmulatedDot.Gamma(0, 0.5));
        Assert.Equal(0.1 / 0.9, EmulatedDot.Gamma(10, 0.01), 15);
        Assert.Equal(double.PositiveInfinity, EmulatedDot.Gamma(2048, Math.Pow(2, -11)));
        Assert.Equal(double.PositiveInfinity, EmulatedDot.Gamma(3000, Math.Pow(2, -11)));
        Assert.Throws<ArgumentOutOfRangeException>(() => EmulatedDot.Gamma(-1, 0.1));
    }

    [Fact]
    public void BadArgumentsThrowEmaException()
    {
        Assert.Throws<EmaException>(() => EmulatedDot.Dot(F16, new float[3], new float[2]));
        Assert.Throws<EmaException>(() => EmulatedDot.DotFma(F16, new float[3], new float[3], 0, Summation.Blocked, 0));
        Assert.Equal(1.5, EmulatedDot.Dot(F16, [], [], bias: 1.5));
    }

    [Fact]
    public void DotDoesNotAllocate()
    {
        var w = new float[256];
        var x = new float[256];
        for (int i = 0; i < w.Length; i++)
        {
            w[i] = i * 0.01f;
            x[i] = 1 - i * 0.003f;
        }
        double sink = 0;
        for (int warm = 0; warm < 3; warm++)
            sink += Run(w, x);
        Assert.Equal(0, SteadyStateAllocation.Least(() => sink += Run(w, x)).Bytes);
        Assert.True(double.IsFinite(sink));

        static double Run(float[] w, float[] x)
        {
            double s = 0;
            var all = FloatFormat.Predefined;
            for (int i = 0; i < all.Count; i++)   // indexer, not foreach: an interface enumerator would allocate
            {
                var f = all[i];
                s += EmulatedDot.Dot(f, w, x, 0.5);
                s += EmulatedDot.DotFma(f, w, x, 0.5, Summation.Blocked, 32);
                s += f.Round(s) + f.RoundSum(s, 1e-3);
            }
            return s;
        }
    }
}
