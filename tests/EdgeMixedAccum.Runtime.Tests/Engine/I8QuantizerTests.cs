using EdgeMixedAccum.Runtime.Engine;

namespace EdgeMixedAccum.Runtime.Tests.Engine;

/// <summary>The vectorised int8 quantiser against its scalar reference: the same q and e_max bit for bit, ||x||_1
/// within the summation-order budget the engine inflates by, and the same max|x| and finiteness.</summary>
public class I8QuantizerTests
{
    public static TheoryData<int> Lengths() => [0, 1, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 23, 24, 31, 64, 65, 784, 1001];

    [Theory, MemberData(nameof(Lengths))]
    public void VectorEqualsScalar(int n)
    {
        var rng = new Random(n + 17);
        foreach (float scale in new[] { 1f, 1e-3f, 37f })
            foreach (int clip in new[] { -1, 2, n / 2 + 1, n - 1 })
            {
                // clip -1: the engine's dynamic step max|x|/127, so e_max is a rounding error in any lane; else one
                // element beyond a static-like step's range, clipped to 127 (the largest error, at a lane of its own).
                var x = new float[n];
                for (int j = 0; j < n; j++) x[j] = (float)((rng.NextDouble() * 2 - 1) * scale);
                if (n > 3) { x[0] = 0; x[1] = -0f; }
                if (clip >= 2 && clip < n) x[clip] = scale * 2;
                float s = clip < 0 ? Math.Max(x.DefaultIfEmpty().Max(MathF.Abs), 1e-30f) / 127f : scale / 127f;
                var qs = new sbyte[n + 8];
                Array.Fill(qs, (sbyte)99);
                I8Quantizer.Scalar(x, qs, s, out double es, out double ls);
                foreach (int width in LaneWidth.Supported()) // each loop this machine runs (AVX-512, AVX2, 128-bit), then its tails
                {
                    var qv = new sbyte[n + 8];
                    Array.Fill(qv, (sbyte)99);
                    I8Quantizer.Vector(x, qv, s, out double ev, out double lv, width);
                    Assert.Equal(qs, qv); // including the untouched tail past n
                    Assert.Equal(es, ev);
                    Assert.True(Math.Abs(ls - lv) <= (n + 2) * 1.2e-16 * ls, $"n={n} width {width}: l1 {lv} vs {ls}");
                    float m = I8Quantizer.MaxAbs(x, out bool finite, width);
                    Assert.True(finite);
                    Assert.Equal(n == 0 ? 0f : x.Max(MathF.Abs), m);
                }
            }
    }

    [Fact]
    public void ErrorMaxExactAtTheEdgesOfItsFloatForm()
    {
        // The vector loops take x - s q by one fused multiply-add, exact while every |d| < P (the largest power of two
        // at most s); these inputs sit where that is tightest: s at the bottom, middle and top of its binade (and a
        // subnormal-free tiny one), x at half-integers of s give or take a few ulps (|d| near s/2 and, for s near 2P,
        // near P), x in the binades just below s, clipped elements, zeros. Each must give the reference's e_max.
        var rng = new Random(20261205);
        foreach (float s in new[] { 1f, 1.5f, MathF.BitDecrement(2f), MathF.BitIncrement(1f), 0.75f, 3e-30f, 1e20f, 0.0123f })
            foreach (int k in new[] { 0, 1, 2, 63, 126, 127 })
            {
                var x = new float[41];
                for (int j = 0; j < x.Length; j++)
                {
                    float t = (k + 0.5f) * s;
                    for (int u = 0, m = j % 7 - 3; u < Math.Abs(m); u++) t = m < 0 ? MathF.BitDecrement(t) : MathF.BitIncrement(t);
                    x[j] = (j % 5) switch
                    {
                        0 => -t,
                        1 => t,
                        2 => s * (float)rng.NextDouble() * 0.5f,          // binades below s
                        3 => j % 2 == 0 ? 200 * s : 0f,                    // clipped, or zero
                        _ => MathF.BitDecrement(s * 0.5f) * (j % 3 - 1),   // just under s/2 (q must be 0)
                    };
                }
                var qs = new sbyte[x.Length];
                I8Quantizer.Scalar(x, qs, s, out double es, out _);
                // Without the clipped elements too: the float path alone must then hold.
                var y = x.Select(v => MathF.Abs(v) >= 127 * s ? 0f : v).ToArray();
                I8Quantizer.Scalar(y, qs, s, out double esy, out _);
                foreach (int width in LaneWidth.Supported())
                {
                    var qv = new sbyte[x.Length];
                    I8Quantizer.Vector(x, qv, s, out double ev, out _, width);
                    Assert.True(es == ev, $"s {s:R} k {k} width {width}: e_max {ev:R}, reference {es:R}");
                    I8Quantizer.Vector(y, qv, s, out double evy, out _, width);
                    Assert.True(esy == evy, $"s {s:R} k {k} width {width}, unclipped: e_max {evy:R}, reference {esy:R}");
                }
            }
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void MaxAbsReportsNonFiniteAnywhere(float bad)
    {
        for (int n = 1; n <= 37; n++)
            for (int at = 0; at < n; at++)
            {
                var x = Enumerable.Range(0, n).Select(i => (float)i - 3).ToArray();
                x[at] = bad;
                foreach (int width in LaneWidth.Supported())
                {
                    I8Quantizer.MaxAbs(x, out bool finite, width);
                    Assert.False(finite, $"n={n} at={at} width {width}");
                }
            }
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void NonFiniteElementsMakeTheL1NonFinite(float bad)
    {
        // Under a static scale the engine skips MaxAbs: the quantiser's ||x||_1 is its only finiteness test, so a
        // non-finite element anywhere, on any loop, must reach it (and must not fault). Finite inputs keep it finite.
        for (int n = 1; n <= 37; n++)
        {
            var q = new sbyte[n];
            var x = Enumerable.Range(0, n).Select(i => (float)(i % 30) * 1e37f - 3).ToArray(); // large, finite: no overflow
            foreach (int width in LaneWidth.Supported())
            {
                I8Quantizer.Vector(x, q, 0.05f, out _, out double l1, width);
                Assert.True(double.IsFinite(l1), $"n={n} width {width}: finite input, l1 {l1}");
            }
            I8Quantizer.Scalar(x, q, 0.05f, out _, out double ls);
            Assert.True(double.IsFinite(ls));
            for (int at = 0; at < n; at++)
            {
                var y = (float[])x.Clone();
                y[at] = bad;
                foreach (int width in LaneWidth.Supported())
                {
                    I8Quantizer.Vector(y, q, 0.05f, out _, out double l1, width);
                    Assert.False(double.IsFinite(l1), $"n={n} at={at} width {width}: l1 {l1}");
                }
                I8Quantizer.Scalar(y, q, 0.05f, out _, out double l1s);
                Assert.False(double.IsFinite(l1s), $"n={n} at={at} scalar");
            }
        }
    }

    [Fact]
    public void RoundsHalfToEvenLikeTheReference()
    {
        // Twice over, so the 16-lane loop runs too.
        float[] x = [0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 126.5f, -126.5f, 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 126.5f, -126.5f];
        foreach (int width in LaneWidth.Supported())
        {
            var q = new sbyte[x.Length];
            I8Quantizer.Vector(x, q, 1f, out _, out _, width);
            Assert.Equal(new sbyte[] { 0, 2, 2, 0, -2, -2, 126, -126, 0, 2, 2, 0, -2, -2, 126, -126 }, q);
        }
    }
}
