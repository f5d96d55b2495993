using EdgeMixedAccum.Activations;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Tests.Activations;

/// <summary>Guards: limits at the singular points, NaN and infinities, no NaN from finite input, and
/// high-precision reference values of phi, phi' and kappa_phi.</summary>
public class ActivationLimitTests
{
    /// <summary>
    /// At each kink or zero of phi, Kappa(p) is the limit, computed as Kappa at p +- 1e-8 (relative to
    /// max(1, |p|)): both sides agree for the smooth kinds; for the piecewise-linear ones the one-sided
    /// limits differ (e.g. ReLU: 0 and 1) and Kappa(p) is the larger (conservative) one.
    /// </summary>
    [Theory]
    [MemberData(nameof(ActivationCases.Data), MemberType = typeof(ActivationCases))]
    public void Kappa_at_singular_points_is_the_limit(Activation a)
    {
        foreach (double p in ActivationCases.SingularPoints(a))
        {
            double d = 1e-8 * Math.Max(1.0, Math.Abs(p));
            double left = ActivationMath.Kappa(a, p - d), right = ActivationMath.Kappa(a, p + d);
            double at = ActivationMath.Kappa(a, p);
            Assert.True(double.IsFinite(at), $"{a} at {p}: {at}");
            if (ActivationCases.IsPiecewiseLinear(a))
                Assert.Equal(Math.Max(left, right), at, 1e-6);
            else
            {
                Assert.Equal(left, at, 1e-6);
                Assert.Equal(right, at, 1e-6);
            }
        }
    }

    [Fact]
    public void Kappa_at_zero_and_kinks_has_the_documented_values()
    {
        foreach (var a in new[] { Activation.Identity, Activation.Relu, Activation.LeakyRelu(0.1f), Activation.LeakyRelu(0f),
                     Activation.Tanh, Activation.Gelu, Activation.Silu, Activation.Relu6, Activation.Clip(-1, 1) })
        {
            Assert.Equal(1.0, ActivationMath.Kappa(a, 0.0));
            Assert.Equal(1.0, ActivationMath.Kappa(a, -0.0));
        }
        Assert.Equal(0.0, ActivationMath.Kappa(Activation.Sigmoid, 0.0)); // phi(0) = 1/2: not singular
        Assert.Equal(0.0, ActivationMath.Kappa(Activation.Relu, -1e-300));
        Assert.Equal(1.0, ActivationMath.Kappa(Activation.Relu6, 6.0));
        Assert.Equal(0.0, ActivationMath.Kappa(Activation.Relu6, Math.BitIncrement(6.0)));
        Assert.Equal(0.0, ActivationMath.Kappa(Activation.Relu6, -1e-300));
        Assert.Equal(1.0, ActivationMath.Kappa(Activation.Clip(-2.5f, -0.5f), -2.5));
        Assert.Equal(0.0, ActivationMath.Kappa(Activation.Clip(-2.5f, -0.5f), 0.0));
        Assert.Equal(0.0, ActivationMath.Kappa(Activation.Clip(3f, 3f), 3.0)); // constant
        // Derivative at kinks: the slope of the closed inner piece.
        Assert.Equal(1.0, ActivationMath.Derivative(Activation.Relu, 0.0));
        Assert.Equal(1.0, ActivationMath.Derivative(Activation.LeakyRelu(0.1f), 0.0));
        Assert.Equal(1.0, ActivationMath.Derivative(Activation.Relu6, 0.0));
        Assert.Equal(1.0, ActivationMath.Derivative(Activation.Relu6, 6.0));
        Assert.Equal((double)0.1f, ActivationMath.Derivative(Activation.LeakyRelu(0.1f), -3.0));
        // The GELU and SiLU minima: phi' = 0, so kappa = 0 (to rounding).
        Assert.True(ActivationMath.Kappa(Activation.Gelu, -0.7517915246935645) < 1e-14);
        Assert.True(ActivationMath.Kappa(Activation.Silu, -1.2784645427610737) < 1e-14);
    }

    [Theory]
    [MemberData(nameof(ActivationCases.Data), MemberType = typeof(ActivationCases))]
    public void NaN_in_gives_NaN_out(Activation a)
    {
        Assert.True(double.IsNaN(ActivationMath.Phi(a, double.NaN)));
        Assert.True(float.IsNaN(ActivationMath.Phi(a, float.NaN)));
        Assert.True(double.IsNaN(ActivationMath.Derivative(a, double.NaN)));
        Assert.True(double.IsNaN(ActivationMath.Kappa(a, double.NaN)));
        Span<float> buf = [float.NaN];
        ActivationMath.Kappa(a, buf, buf);
        Assert.True(float.IsNaN(buf[0]));
    }

    /// <summary>No NaN from any non-NaN input, kappa &gt;= 0 everywhere, over a wide range of magnitudes.</summary>
    [Theory]
    [MemberData(nameof(ActivationCases.Data), MemberType = typeof(ActivationCases))]
    public void Finite_and_infinite_inputs_never_give_NaN(Activation a)
    {
        var ts = new List<double> { 0.0, -0.0, double.Epsilon, -double.Epsilon, double.MaxValue, -double.MaxValue,
            double.PositiveInfinity, double.NegativeInfinity };
        for (int e = -320; e <= 308; e += 4)
        {
            ts.Add(Math.Pow(10, e));
            ts.Add(-Math.Pow(10, e));
        }
        foreach (double t in ts)
        {
            double phi = ActivationMath.Phi(a, t), d = ActivationMath.Derivative(a, t), k = ActivationMath.Kappa(a, t);
            Assert.False(double.IsNaN(phi), $"{a}: phi({t}) is NaN");
            Assert.False(double.IsNaN(d), $"{a}: phi'({t}) is NaN");
            Assert.False(double.IsNaN(k), $"{a}: kappa({t}) is NaN");
            Assert.True(k >= 0, $"{a}: kappa({t}) = {k}");
            Assert.False(float.IsNaN(ActivationMath.Phi(a, (float)t)), $"{a}: float phi({t}) is NaN");
        }
    }

    public static IEnumerable<object[]> InfinityLimits() => new (Activation A, double PhiNeg, double PhiPos, double KNeg, double KPos)[]
    {
        (Activation.Identity, double.NegativeInfinity, double.PositiveInfinity, 1, 1),
        (Activation.Relu, 0, double.PositiveInfinity, 0, 1),
        (Activation.Relu6, 0, 6, 0, 0),
        (Activation.Clip(float.NegativeInfinity, float.PositiveInfinity), double.NegativeInfinity, double.PositiveInfinity, 1, 1),
        (Activation.LeakyRelu(0.1f), double.NegativeInfinity, double.PositiveInfinity, 1, 1),
        (Activation.LeakyRelu(0f), 0, double.PositiveInfinity, 0, 1),
        (Activation.Tanh, -1, 1, 0, 0),
        (Activation.Sigmoid, 0, 1, double.PositiveInfinity, 0),
        (Activation.Gelu, 0, double.PositiveInfinity, double.PositiveInfinity, 1),
        (Activation.Silu, 0, double.PositiveInfinity, double.PositiveInfinity, 1),
    }.Select(r => new object[] { r.A, r.PhiNeg, r.PhiPos, r.KNeg, r.KPos });

    [Theory]
    [MemberData(nameof(InfinityLimits))]
    public void Infinities_give_the_limits(Activation a, double phiNeg, double phiPos, double kNeg, double kPos)
    {
        Assert.Equal(phiNeg, ActivationMath.Phi(a, double.NegativeInfinity));
        Assert.Equal(phiPos, ActivationMath.Phi(a, double.PositiveInfinity));
        Assert.Equal(kNeg, ActivationMath.Kappa(a, double.NegativeInfinity));
        Assert.Equal(kPos, ActivationMath.Kappa(a, double.PositiveInfinity));
        Assert.Equal((float)phiNeg, ActivationMath.Phi(a, float.NegativeInfinity));
        Assert.Equal((float)phiPos, ActivationMath.Phi(a, float.PositiveInfinity));
    }

    /// <summary>Reference values from mpmath at 50 digits (phi' from its closed form, kappa = |t phi'/phi|).</summary>
    public static IEnumerable<object[]> References() => new (Activation A, double T, double Phi, double Dphi, double Kappa)[]
    {
        (Activation.Gelu, -35, -3.9371874726534218539e-267, -1.3780137862911361095e-265, 1224.9983739708840755),
        (Activation.Gelu, -30, -1.4720141781444561179e-196, -4.4160316907084943701e-195, 899.99779002301031111),
        (Activation.Gelu, -10, -7.619853024160526066e-23, -7.6184000964648140857e-22, 99.980932339625119628),
        (Activation.Gelu, -3, -0.00404969409489028358, -0.011945647204183927, 8.8492959647913095208),
        (Activation.Gelu, -0.5, -0.15426876936299344818, 0.13250487534383715747, 0.42946111481596775956),
        (Activation.Gelu, 1e-5, 5.0000398942280394784e-6, 0.50000797884560776269, 1.0000079787819461604),
        (Activation.Gelu, 2, 1.9544997361036415856, 1.0852318010781968967, 1.1104957253579799182),
        (Activation.Gelu, 5, 4.999998566742140604, 1.0000071469460017923, 1.0000074335997045245),
        (Activation.Silu, -100, -3.720075976020835963e-42, -3.6828752162606276033e-42, 99.0),
        (Activation.Silu, -50, -9.6437492398195889151e-21, -9.4508742550231971368e-21, 49.0),
        (Activation.Silu, -5, -0.033464254621424277797, -0.026547432429665919011, 3.9665357453785757222),
        (Activation.Silu, -1, -0.26894142136999512075, 0.072329488128513268211, 0.26894142136999512075),
        (Activation.Silu, -1e-4, -0.000049997500000002083333, 0.49995000000008333333, 0.99994999750000000208),
        (Activation.Silu, 0.5, 0.31122966560092728232, 0.73996118730265180917, 1.1887703343990727177),
        (Activation.Silu, 5, 4.9665357453785757222, 1.026547432429665919, 1.0334642546214242778),
        (Activation.Silu, 40, 39.99999999999999983, 1.0000000000000001657, 1.0000000000000001699),
        (Activation.Sigmoid, -50, 1.928749847963917783e-22, 1.928749847963917783e-22, 50.0),
        (Activation.Sigmoid, -2, 0.11920292202211755594, 0.10499358540350651735, 1.7615941559557648881),
        (Activation.Sigmoid, 1, 0.73105857863000487925, 0.19661193324148185254, 0.26894142136999512075),
        (Activation.Sigmoid, 20, 0.99999999793884638181, 2.0611536139418493437e-9, 4.1223072363804071629e-8),
        (Activation.Tanh, -20, -1, 1.6993417021166355837e-17, 3.3986834042332711963e-16),
        (Activation.Tanh, 1e-3, 0.00099999966666679999995, 0.99999900000066666629, 0.99999933333364444431),
        (Activation.Tanh, 0.3, 0.29131261245159090582, 0.91513696182662920314, 0.94242774536104520509),
        (Activation.Tanh, 0.7, 0.60436777711716349631, 0.63473958998245858737, 0.73517770107982613588),
        (Activation.Tanh, 2, 0.96402758007581688395, 0.070650824853164465686, 0.14657428130346242386),
        (Activation.Tanh, 10, 0.99999999587769276362, 8.2446144557673973746e-9, 8.2446144897542313469e-8),
        (Activation.Tanh, 100, 1, 5.5355861069469501226e-87, 5.5355861069469501226e-85),
    }.Select(r => new object[] { r.A, r.T, r.Phi, r.Dphi, r.Kappa });

    /// <summary>Relative 1e-13: a few ulps of each ingredient (the GELU -0.5 kappa carries a 1/0.43 cancellation).</summary>
    [Theory]
    [MemberData(nameof(References))]
    public void Phi_derivative_and_kappa_match_high_precision_references(Activation a, double t, double phi, double dphi, double kappa)
    {
        static void Rel(double expected, double actual, string what) =>
            Assert.True(Math.Abs(actual - expected) <= 1e-13 * Math.Abs(expected), $"{what}: expected {expected:R}, got {actual:R}");
        Rel(phi, ActivationMath.Phi(a, t), $"{a} phi({t})");
        Rel(dphi, ActivationMath.Derivative(a, t), $"{a} phi'({t})");
        Rel(kappa, ActivationMath.Kappa(a, t), $"{a} kappa({t})");
    }

    [Fact]
    public void Kappa_shapes()
    {
        // tanh: <= 1, even, decreasing in |t|; sigmoid ~ |t| for t -> -inf; GELU ~ t^2; SiLU ~ |t|.
        double prev = 1.0;
        for (double t = 0.01; t < 400; t *= 1.1)
        {
            double k = ActivationMath.Kappa(Activation.Tanh, t);
            Assert.True(k <= prev && k == ActivationMath.Kappa(Activation.Tanh, -t));
            prev = k;
        }
        Assert.Equal(1e6, ActivationMath.Kappa(Activation.Sigmoid, -1e6), 1e-6);
        Assert.Equal(1e12, ActivationMath.Kappa(Activation.Gelu, -1e6), 1e12 * 1e-10);
        Assert.Equal(1e6 - 1, ActivationMath.Kappa(Activation.Silu, -1e6), 1e-6);
    }
}
