using EdgeMixedAccum.Activations;

namespace EdgeMixedAccum.Tests.Activations;

/// <summary>erf / erfc / erfcx / normal CDF against high-precision references and their identities.</summary>
/// <remarks>Reference values: mpmath at 50 digits (and, for the ones quoted in the task, the classic
/// tables), rounded to 20 significant digits here.</remarks>
public class SpecialFunctionsTests
{
    // Relative tolerance: 4e-16 ~ 2 ulps. Cody's approximations are good to ~18 digits, so what is left
    // is the rounding of the evaluation (Horner, exp); measured worst case on these tables is below 2 ulps.
    private const double Tol = 4.5e-16;

    private static void AssertRel(double expected, double actual, double tol, string what)
    {
        double err = Math.Abs(actual - expected) / Math.Abs(expected);
        Assert.True(err <= tol, $"{what}: expected {expected:R}, got {actual:R} (rel err {err:E2})");
    }

    public static IEnumerable<object[]> ErfTable() => new (double X, double Erf)[]
    {
        (1e-10, 1.1283791670955125739e-10),
        (0.1, 0.1124629160182848922),
        (0.3, 0.32862675945912742764),
        (0.46875, 0.49261347321793799159),
        (0.5, 0.52049987781304653768),   // 0.5204998778130465
        (0.75, 0.7111556336535151316),
        (1.0, 0.84270079294971486934),   // 0.8427007929497149
        (1.5, 0.96610514647531072707),
        (2.0, 0.99532226501895273416),   // 0.9953222650189527
        (3.0, 0.99997790950300141456),
        (3.9, 0.99999996520775140277),
        (4.0, 0.99999998458274209972),
        (4.5, 0.99999999980338395585),
        (5.0, 0.99999999999846254021),
        (6.0, 0.99999999999999997848),
    }.Select(r => new object[] { r.X, r.Erf });

    public static IEnumerable<object[]> ErfcTable() => new (double X, double Erfc)[]
    {
        (-3.0, 1.9999779095030014146),
        (-1.0, 1.8427007929497148693),
        (-0.2, 1.2227025892104784541),
        (0.1, 0.8875370839817151078),
        (0.46875, 0.50738652678206200841),
        (0.5, 0.47950012218695346232),
        (1.0, 0.15729920705028513066),
        (2.0, 0.0046777349810472658379),
        (3.5, 7.4309837234141274552e-7),
        (4.0, 1.5417257900280018852e-8),
        (4.5, 1.9661604415428874763e-10),
        (5.0, 1.5374597944280348502e-12),   // 1.5374597944280349e-12
        (7.0, 4.1838256077794143986e-23),
        (10.0, 2.088487583762544757e-45),   // 2.0884875837625447e-45
        (15.0, 7.2129941724512066666e-100),
        (20.0, 5.3958656116079009289e-176),
        (26.0, 5.6631924088561428465e-296),
    }.Select(r => new object[] { r.X, r.Erfc });

    public static IEnumerable<object[]> ErfcxTable() => new (double X, double Erfcx)[]
    {
        (-5.0, 144009798674.66104041),
        (-1.0, 5.0089800807622834663),
        (-0.3, 1.4537492328427655735),
        (0.0, 1.0),
        (0.3, 0.73459933456765514229),
        (1.0, 0.42758357615580700441),
        (3.0, 0.17900115118138995042),
        (5.0, 0.11070463773306862637),
        (10.0, 0.056140992743822585858),
        (30.0, 0.018795888861416751497),
        (1000.0, 0.0005641893014533876542),
        (1e10, 5.6418958354775628695e-11),
    }.Select(r => new object[] { r.X, r.Erfcx });

    public static IEnumerable<object[]> NormalCdfTable() => new (double X, double Cdf)[]
    {
        (-37.0, 5.7255712225245768227e-300),
        (-30.0, 4.9067139271481870595e-198),
        (-10.0, 7.619853024160526066e-24),
        (-5.0, 2.8665157187919391167e-7),
        (-1.5, 0.066807201268858066004),
        (-1.0, 0.15865525393145705141),
        (-0.25, 0.40129367431707627576),
        (0.0, 0.5),
        (0.5, 0.69146246127401310364),
        (3.0, 0.99865010196836990547),
        (8.0, 0.9999999999999993779),
    }.Select(r => new object[] { r.X, r.Cdf });

    [Theory]
    [MemberData(nameof(ErfTable))]
    public void Erf_matches_reference(double x, double expected)
    {
        AssertRel(expected, SpecialFunctions.Erf(x), Tol, $"erf({x})");
        AssertRel(-expected, SpecialFunctions.Erf(-x), Tol, $"erf({-x})");
    }

    [Theory]
    [MemberData(nameof(ErfcTable))]
    public void Erfc_matches_reference(double x, double expected) =>
        AssertRel(expected, SpecialFunctions.Erfc(x), Tol, $"erfc({x})");

    [Theory]
    [MemberData(nameof(ErfcxTable))]
    public void Erfcx_matches_reference(double x, double expected) =>
        AssertRel(expected, SpecialFunctions.Erfcx(x), Tol, $"erfcx({x})");

    // NormalCdf goes through t/sqrt 2 (a rounding the erf tables do not have); in the lower tail the
    // Mills-ratio form keeps it to a few ulps instead of ~t^2 ulps.
    [Theory]
    [MemberData(nameof(NormalCdfTable))]
    public void NormalCdf_matches_reference(double x, double expected) =>
        AssertRel(expected, SpecialFunctions.NormalCdf(x), 1e-15, $"Phi({x})");

    [Fact]
    public void Identities_hold_on_a_grid()
    {
        for (double x = -7; x <= 7; x += 0.01337)
        {
            double erf = SpecialFunctions.Erf(x), erfc = SpecialFunctions.Erfc(x);
            Assert.Equal(-erf, SpecialFunctions.Erf(-x));                       // odd, exactly
            Assert.True(Math.Abs(erf + erfc - 1.0) <= 2.3e-16, $"erf+erfc-1 at {x}");
            Assert.True(Math.Abs(SpecialFunctions.Erfc(-x) - (2.0 - erfc)) <= 4.5e-16, $"erfc(-x) at {x}");
            if (Math.Abs(x) < 5)
            {
                double viaErfc = Math.Exp(x * x) * erfc;
                double erfcx = SpecialFunctions.Erfcx(x);
                // exp(x^2) amplifies the rounding of x^2 by 2x^2: allow that much.
                Assert.True(Math.Abs(erfcx - viaErfc) <= (4 + 2 * x * x) * 2.3e-16 * erfcx, $"erfcx at {x}");
            }
            double t = x * 1.5;
            double cdf = SpecialFunctions.NormalCdf(t);
            Assert.True(Math.Abs(cdf + SpecialFunctions.NormalCdf(-t) - 1.0) <= 3.4e-16, $"Phi(t)+Phi(-t) at {t}");
        }
    }

    [Fact]
    public void Branch_boundaries_are_continuous()
    {
        // Cody's interval edges (0.46875, 4) and NormalCdf's switch at t = -1: the two formulas meet.
        // The step from lo to hi (two ulps) moves the functions by f' (hi - lo), up to ~1e-14 relative
        // for erfc at 4, so the value at hi is predicted to first order from lo with the exact derivative.
        const double TwoOverSqrtPi = 1.1283791670955125739;
        foreach (double b in new[] { 0.46875, 4.0, -0.46875, -4.0 })
        {
            double lo = Math.BitDecrement(b), hi = Math.BitIncrement(b), dx = hi - lo;
            double dErf = TwoOverSqrtPi * Math.Exp(-lo * lo);
            double erfcx = SpecialFunctions.Erfcx(lo);
            AssertRel(SpecialFunctions.Erf(lo) + dErf * dx, SpecialFunctions.Erf(hi), 1e-15, $"erf at {b}");
            AssertRel(SpecialFunctions.Erfc(lo) - dErf * dx, SpecialFunctions.Erfc(hi), 1e-15, $"erfc at {b}");
            AssertRel(erfcx + (2 * lo * erfcx - TwoOverSqrtPi) * dx, SpecialFunctions.Erfcx(hi), 1e-15, $"erfcx at {b}");
        }
        AssertRel(SpecialFunctions.NormalCdf(Math.BitDecrement(-1.0)), SpecialFunctions.NormalCdf(-1.0), 1e-15, "Phi at -1");
        // pdf/Phi against its two ingredients where neither underflows.
        foreach (double t in new[] { -20.0, -3.0, -1.0, 0.0, 2.0, 6.0 })
            AssertRel(SpecialFunctions.NormalPdf(t) / SpecialFunctions.NormalCdf(t), SpecialFunctions.NormalPdfOverCdf(t), 2e-15, $"pdf/Phi at {t}");
    }

    [Fact]
    public void Special_values()
    {
        Assert.Equal(0.0, SpecialFunctions.Erf(0.0));
        Assert.Equal(1.0, SpecialFunctions.Erf(double.PositiveInfinity));
        Assert.Equal(-1.0, SpecialFunctions.Erf(double.NegativeInfinity));
        Assert.Equal(1.0, SpecialFunctions.Erf(30.0));
        Assert.Equal(0.0, SpecialFunctions.Erfc(double.PositiveInfinity));
        Assert.Equal(2.0, SpecialFunctions.Erfc(double.NegativeInfinity));
        Assert.Equal(0.0, SpecialFunctions.Erfc(28.0));
        Assert.Equal(0.0, SpecialFunctions.Erfcx(double.PositiveInfinity));
        Assert.Equal(double.PositiveInfinity, SpecialFunctions.Erfcx(-27.0));
        Assert.Equal(double.PositiveInfinity, SpecialFunctions.Erfcx(double.NegativeInfinity));
        Assert.Equal(0.0, SpecialFunctions.NormalPdf(double.PositiveInfinity));
        Assert.Equal(0.0, SpecialFunctions.NormalPdf(double.NegativeInfinity));
        Assert.Equal(0.0, SpecialFunctions.NormalCdf(double.NegativeInfinity));
        Assert.Equal(1.0, SpecialFunctions.NormalCdf(double.PositiveInfinity));
        Assert.Equal(double.PositiveInfinity, SpecialFunctions.NormalPdfOverCdf(double.NegativeInfinity));
        Assert.Equal(0.0, SpecialFunctions.NormalPdfOverCdf(double.PositiveInfinity));
        Assert.True(double.IsNaN(SpecialFunctions.Erf(double.NaN)));
        Assert.True(double.IsNaN(SpecialFunctions.Erfc(double.NaN)));
        Assert.True(double.IsNaN(SpecialFunctions.Erfcx(double.NaN)));
        Assert.True(double.IsNaN(SpecialFunctions.NormalPdf(double.NaN)));
        Assert.True(double.IsNaN(SpecialFunctions.NormalCdf(double.NaN)));
        Assert.True(double.IsNaN(SpecialFunctions.NormalPdfOverCdf(double.NaN)));
    }
}
