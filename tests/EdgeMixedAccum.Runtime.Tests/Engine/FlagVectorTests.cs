using EdgeMixedAccum.Activations;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Runtime.Engine;

namespace EdgeMixedAccum.Runtime.Tests.Engine;

/// <summary>The vectorised flag test against the scalar one it stands for: same flagged indices, same largest
/// prediction over the unflagged, for zeros, tiny and huge values, infinite tau_negative and odd lengths.</summary>
public class FlagVectorTests
{
    [Theory]
    [InlineData(0.01, 1.0)]
    [InlineData(0.0, 0.0)]
    [InlineData(1.0, double.PositiveInfinity)]
    [InlineData(1e-6, 30.0)]
    public void VectorEqualsScalar(double tau, double tauNeg)
    {
        var rng = new Random(3);
        for (int len = 0; len <= 41; len++)
        {
            var s = new float[len]; var k = new float[len]; var b = new double[len];
            for (int i = 0; i < len; i++)
            {
                s[i] = (rng.Next(6)) switch { 0 => 0f, 1 => -0f, 2 => (float)(rng.NextDouble() * 1e-30), _ => (float)((rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-5, 5))) };
                k[i] = rng.Next(5) == 0 ? 0f : (float)rng.NextDouble();
                b[i] = rng.Next(5) == 0 ? 0 : rng.NextDouble() * Math.Pow(10, rng.Next(-8, 1));
            }
            AssertVectorMatchesScalar(s, k, b, tau, tauNeg, 0.5e-9);
        }
    }

    [Theory]
    [InlineData(0.01)]
    [InlineData(1e-6)]
    [InlineData(0.0)]
    public void PredictionsWithinAnUlpOfTauOrOfTheMaximumMatchTheScalarTest(double tau)
    {
        // Predictions within a few ulps of tau or of the running maximum, among lanes far from both: where a
        // division-free shortcut (tried: no gain measured, not kept) would have to defer to the exact test, so any
        // vector form of the test must still match the scalar one there.
        var rng = new Random(17);
        double max0 = 4 * tau + 1e-3; // the running maximum above tau, so lanes near tau cannot raise it
        for (int round = 0; round < 200; round++)
        {
            int len = 48;
            var s = new float[len]; var k = new float[len]; var b = new double[len];
            for (int i = 0; i < len; i++)
            {
                s[i] = (float)((rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-30, 30)));
                k[i] = (float)(0.5 + rng.NextDouble());
                double target = rng.Next(32) switch { < 3 => tau, 3 => max0, 4 => 1e-300, _ => rng.NextDouble() * 1e-4 };
                b[i] = target * Math.Abs(s[i]) / k[i] * (1 + (rng.Next(9) - 4) * Math.ScaleB(1.0, -52));
                if (rng.Next(16) == 0) s[i] = 0;
            }
            AssertVectorMatchesScalar(s, k, b, tau, double.PositiveInfinity, max0);
        }
    }

    public static TheoryData<Activation> KinkedActivations() =>
    [
        Activation.Relu6, Activation.Clip(-2.5f, -0.5f), Activation.Clip(float.NegativeInfinity, 1f),
        Activation.LeakyReluClip(0.1f, -2f, 6f), Activation.LeakyReluClip(-0.5f, 0f, 2f), Activation.LeakyReluClip(0f, -1f, 1f),
        Activation.LeakyReluClip(-0.5f, 0.5f, 2f), // five kinks: 0, 0.5, -1, 2, -4
    ];

    /// <summary>Clip and LeakyReluClip guard on the distance to their kinks (not |s|): results on, beside and between
    /// the kinks, bounds on both sides of the guard's threshold.</summary>
    [Theory]
    [MemberData(nameof(KinkedActivations))]
    public void VectorEqualsScalarAtTheKinksOfClampedActivations(Activation act)
    {
        var kinks = FlagTest.Kinks(act);
        double[] points = new[] { kinks.K0, kinks.K1, kinks.K2, kinks.K3, kinks.K4 }[..kinks.Count];
        var rng = new Random(5);
        for (int len = 0; len <= 41; len++)
        {
            var s = new float[len]; var k = new float[len]; var b = new double[len];
            for (int i = 0; i < len; i++)
            {
                double at = points[rng.Next(points.Length)];
                s[i] = (float)(rng.Next(4) == 0 ? at : at + (rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-6, 1)));
                k[i] = (float)ActivationMath.Kappa(act, s[i]);
                b[i] = rng.Next(6) == 0 ? 0 : rng.NextDouble() * Math.Pow(10, rng.Next(-6, 0));
            }
            AssertVectorMatchesScalar(s, k, b, 0.05, 2.0, 0, act);
            AssertVectorMatchesScalar(s, k, b, 0.05, double.PositiveInfinity, 0, act); // uniform modes: no guard
            // A running maximum above most predictions: the float screen decides most lanes without the exact test.
            AssertVectorMatchesScalar(s, k, b, 0.05, 2.0, 1e-2, act);
            AssertVectorMatchesScalar(s, k, b, double.PositiveInfinity, 1.0, 1e-2, act);
        }
    }

    [Fact]
    public void BoundsAndKinksBeyondFloatRangeMatchTheScalarTest()
    {
        // A bound over float's range (its float is +inf) with a tiny kappa: the prediction stays under tau. And a
        // kink beyond float range (v / alpha for a subnormal alpha), an infinite float kink.
        var s = new float[32]; var k = new float[32]; var b = new double[32];
        for (int i = 0; i < 32; i++) { s[i] = i % 2 == 0 ? 1e38f : -3f + i * 0.1f; k[i] = i % 2 == 0 ? 1e-30f : 1f; b[i] = i % 2 == 0 ? 1e39 : 1e-3; }
        AssertVectorMatchesScalar(s, k, b, 1.0, double.PositiveInfinity, 0.5);
        AssertVectorMatchesScalar(s, k, b, 1.0, 2.0, 0.5);
        AssertVectorMatchesScalar(s, k, b, 1.0, 2.0, 0.5, Activation.LeakyReluClip(1e-40f, -2f, 6f));
        Assert.True(FlagTest.Kinks(Activation.LeakyReluClip(1e-40f, -2f, 6f)).K1 < -1e39);
    }

    [Fact]
    public void GuardDistancesToAKinkThatIsNoFloatMatchTheScalarTest()
    {
        // LeakyReLU(0.1) clamped at -2: the kink -2 / 0.1f is no float (the float screen holds -20 and its rounding
        // error, 3e-7). Results a few ulps either side of it, bounds a hair either side of the guard's threshold
        // tauNeg * d: the float distance |s - (-20)| is off by up to 20% there, so a screen that dropped the kink's
        // error would call the lanes just over the threshold quiet.
        var act = Activation.LeakyReluClip(0.1f, -2f, 6f);
        const double tauNeg = 2.0;
        var s = new float[48]; var k = new float[48]; var b = new double[48];
        float x = -20f;
        for (int i = 0; i < 24; i++) x = MathF.BitDecrement(x);
        for (int i = 0; i < 48; i++, x = MathF.BitIncrement(x))
        {
            s[i] = x;
            k[i] = (float)ActivationMath.Kappa(act, x);
            b[i] = tauNeg * FlagTest.GuardDistance(act, x) * (i % 2 == 0 ? 1 + 1e-9 : 1 - 1e-9);
        }
        AssertVectorMatchesScalar(s, k, b, double.PositiveInfinity, tauNeg, 1.0, act);
        AssertVectorMatchesScalar(s, k, b, 1e-3, tauNeg, 1.0, act);
    }

    [Fact]
    public void LeakyReluClipKinksAreWhereTheLeakyValueMeetsABound()
    {
        // tf2onnx's LeakyReLU(0.1) then clamp to [-2, 6]: kinks at 0, -2 / alpha (about -20) and 6.
        Assert.Equal(new GuardKinks(3, 0, -2.0 / 0.1f, 6), FlagTest.Kinks(Activation.LeakyReluClip(0.1f, -2f, 6f)));
        // Alpha < 0: both sides of the kink reach Max = 2 (t = 2 and t = -4); Min = -1 is never reached (phi >= 0).
        Assert.Equal(new GuardKinks(3, 0, 2, -4), FlagTest.Kinks(Activation.LeakyReluClip(-0.5f, -1f, 2f)));
        // Infinite bounds are no kinks; a repeated point counts once (Min = 0 is the sign kink).
        Assert.Equal(new GuardKinks(1, 1), FlagTest.Kinks(Activation.Clip(float.NegativeInfinity, 1f)));
        Assert.Equal(new GuardKinks(2, 0, 6), FlagTest.Kinks(Activation.LeakyReluClip(0.5f, 0f, 6f)));
        Assert.Equal(double.PositiveInfinity, FlagTest.GuardDistance(Activation.Clip(float.NegativeInfinity, float.PositiveInfinity), 3.0));
        Assert.Equal(GuardKinks.Zero, FlagTest.Kinks(Activation.LeakyRelu(0.1f)));
        Assert.Equal(2.0, FlagTest.GuardDistance(Activation.Relu6, 4.0));
        Assert.Equal(1.0, FlagTest.GuardDistance(Activation.LeakyReluClip(0.5f, -2f, 6f), -3.0)); // kinks 0, -4, 6
    }

    [Fact]
    public void StopsAtANonFiniteResult()
    {
        float[] s = [1f, 2f, 3f, float.NaN, 5f, 6f];
        var k = new float[6]; Array.Fill(k, 1f);
        var b = new double[6]; Array.Fill(b, 1e-3);
        var rows = new int[6]; int n = 0; double max = 0;
        int stop = FlagTest.FlagsVector(s, k, b, 0.1, 1, rows, ref n, ref max);
        Assert.Equal(2, stop); // the pair (3, NaN) is left to the caller
    }

    [Fact]
    public void WideBlocksStopAtANonFiniteResultToo()
    {
        // 40 components, +inf at 21: the 16-wide blocks stop at 16, the pairs then at (20, 21).
        var s = Enumerable.Range(1, 40).Select(i => (float)i).ToArray();
        s[21] = float.PositiveInfinity;
        var k = new float[40]; Array.Fill(k, 1f);
        var b = new double[40]; Array.Fill(b, 1e-3);
        b[3] = 10; b[17] = 100; // flagged (predicted 10/4 and 100/18 > tau), before the stop
        var rows = new int[40]; int n = 0; double max = 0;
        int stop = FlagTest.FlagsVector(s, k, b, 0.1, double.PositiveInfinity, rows, ref n, ref max);
        Assert.Equal(20, stop);
        Assert.Equal(new[] { 3, 17 }, rows.Take(n));
        Assert.Equal(1e-3 / 1, max); // the largest prediction over the unflagged ones before the stop (s = 1)
    }

    /// <summary>FlagsVector, with the scalar test from where it stops (as LayerStep.Flag runs it), against the scalar
    /// test over the whole span: the same flagged indices and the same largest prediction over the unflagged, both
    /// starting from the running maximum max0. Every vector loop this machine runs (LaneWidth.Supported: Vector512 on
    /// AVX-512, Vector256 on AVX2, Vector128 alone as on NEON, none: the scalar test alone).</summary>
    private static void AssertVectorMatchesScalar(float[] s, float[] k, double[] b, double tau, double tauNeg, double max0, Activation? phi = null)
    {
        int len = s.Length;
        var act = phi ?? Activation.Relu;
        var rowsS = new List<int>(); double maxS = max0;
        for (int i = 0; i < len; i++)
        {
            bool f = FlagTest.Flags(act, s[i], k[i], b[i], tau, tauNeg, out double p);
            if (f) rowsS.Add(i); else if (p > maxS) maxS = p;
        }
        foreach (int width in LaneWidth.Supported())
        {
            var rowsV = new int[len]; int n = 0; double maxV = max0;
            int stop = phi is null && width == LaneWidth.Best ? FlagTest.FlagsVector(s, k, b, tau, tauNeg, rowsV, ref n, ref maxV)
                : FlagTest.FlagsVector(FlagTest.Kinks(act), s, k, b, tau, tauNeg, rowsV, ref n, ref maxV, width);
            for (int i = stop; i < len; i++)
            {
                bool f = FlagTest.Flags(act, s[i], k[i], b[i], tau, tauNeg, out double p);
                if (f) rowsV[n++] = i; else if (p > maxV) maxV = p;
            }
            Assert.Equal(rowsS, rowsV.Take(n));
            Assert.Equal(maxS, maxV);
        }
    }
}
