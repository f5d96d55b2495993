namespace EdgeMixedAccum.Activations;

/// <summary>
/// The error function family and the standard normal distribution in double precision (.NET has no
/// Math.Erf). erf, erfc and erfcx use the near-minimax rational approximations of W. J. Cody,
/// "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969) 631-638, with
/// the interval split and coefficients of his SPECFUN routine CALERF (netlib specfun/erf): the
/// approximations themselves are good to about 18 digits, so the results are within a few ulps.
/// </summary>
/// <remarks>
/// NaN in gives NaN out everywhere. Infinite arguments give the limits: erf(±inf) = ±1,
/// erfc(+inf) = 0, erfc(-inf) = 2, erfcx(+inf) = 0, erfcx(x) = +inf once 2 exp(x^2) overflows
/// (x &lt; -26.6287...), NormalPdf(±inf) = 0, NormalCdf(-inf) = 0, NormalCdf(+inf) = 1.
/// </remarks>
public static class SpecialFunctions
{
    /// <summary>1/sqrt(pi).</summary>
    private const double InvSqrtPi = 0.56418958354775628695;
    /// <summary>1/sqrt(2 pi).</summary>
    private const double InvSqrt2Pi = 0.39894228040143267794;
    /// <summary>sqrt(pi/2).</summary>
    private const double SqrtHalfPi = 1.2533141373155002512;
    /// <summary>1/sqrt(2).</summary>
    private const double InvSqrt2 = 0.70710678118654752440;

    // Interval bounds (Cody, IEEE double).
    private const double SmallBound = 0.46875;      // |x| <= this: erf(x) = x * A(x^2)/B(x^2)
    private const double MidBound = 4.0;            // 0.46875 < |x| <= 4: erfcx(|x|) = C(|x|)/D(|x|)
    private const double XSmall = 1.11e-16;         // below this, x^2 is dropped (erf(x) = 2x/sqrt(pi))
    private const double XHuge = 6.71e7;            // above this, erfcx(x) = 1/(x sqrt(pi)) to working precision
    private const double ErfcZero = 27.3;           // erfc(x) < 2^-1075 (rounds to 0) beyond this
    private const double ErfcxOverflow = -26.628735713751; // 2 exp(x^2) overflows below this

    // erf(x) = x * A(x^2) / B(x^2) on |x| <= 0.46875.
    private const double A0 = 3.16112374387056560e00, A1 = 1.13864154151050156e02, A2 = 3.77485237685302021e02,
        A3 = 3.20937758913846947e03, A4 = 1.85777706184603153e-1;
    private const double B0 = 2.36012909523441209e01, B1 = 2.44024637934444173e02, B2 = 1.28261652607737228e03,
        B3 = 2.84423683343917062e03;

    // erfcx(y) = C(y) / D(y) on 0.46875 < y <= 4.
    private const double C0 = 5.64188496988670089e-1, C1 = 8.88314979438837594e00, C2 = 6.61191906371416295e01,
        C3 = 2.98635138197400131e02, C4 = 8.81952221241769090e02, C5 = 1.71204761263407058e03,
        C6 = 2.05107837782607147e03, C7 = 1.23033935479799725e03, C8 = 2.15311535474403846e-8;
    private const double D0 = 1.57449261107098347e01, D1 = 1.17693950891312499e02, D2 = 5.37181101862009858e02,
        D3 = 1.62138957456669019e03, D4 = 3.29079923573345963e03, D5 = 4.36261909014324716e03,
        D6 = 3.43936767414372164e03, D7 = 1.23033935480374942e03;

    // erfcx(y) = (1/sqrt(pi) - z P(z)/Q(z)) / y with z = 1/y^2 on y > 4.
    private const double P0 = 3.05326634961232344e-1, P1 = 3.60344899949804439e-1, P2 = 1.25781726111229246e-1,
        P3 = 1.60837851487422766e-2, P4 = 6.58749161529837803e-4, P5 = 1.63153871373020978e-2;
    private const double Q0 = 2.56852019228982242e00, Q1 = 1.87295284992346047e00, Q2 = 5.27905102951428412e-1,
        Q3 = 6.05183413124413191e-2, Q4 = 2.33520497626869185e-3;

    /// <summary>erf(x) / x on |x| &lt;= 0.46875, as a function of z = x^2.</summary>
    private static double ErfOverX(double z)
    {
        double num = ((((A4 * z + A0) * z + A1) * z + A2) * z + A3);
        double den = ((((z + B0) * z + B1) * z + B2) * z + B3);
        return num / den;
    }

    /// <summary>erfcx(y) = exp(y^2) erfc(y) for y &gt; 0.46875 (including +inf, and NaN -&gt; NaN).</summary>
    private static double ErfcxAboveSmall(double y)
    {
        if (y <= MidBound)
        {
            double num = (((((((C8 * y + C0) * y + C1) * y + C2) * y + C3) * y + C4) * y + C5) * y + C6) * y + C7;
            double den = (((((((y + D0) * y + D1) * y + D2) * y + D3) * y + D4) * y + D5) * y + D6) * y + D7;
            return num / den;
        }
        if (y < XHuge)
        {
            double z = 1.0 / (y * y);
            double num = z * (((((P5 * z + P0) * z + P1) * z + P2) * z + P3) * z + P4);
            double den = ((((z + Q0) * z + Q1) * z + Q2) * z + Q3) * z + Q4;
            return (InvSqrtPi - num / den) / y;
        }
        return InvSqrtPi / y; // +inf -> 0, NaN -> NaN
    }

    /// <summary>
    /// exp(-y^2) for finite y &gt;= 0 without the error amplification of rounding y^2 first: y is split
    /// into a head with 4 fraction bits (whose square is exact) and a small remainder (Cody's device).
    /// </summary>
    private static double ExpNegSquare(double y)
    {
        double head = Math.Truncate(y * 16.0) / 16.0;
        double rest = (y - head) * (y + head);
        return Math.Exp(-head * head) * Math.Exp(-rest);
    }

    /// <summary>exp(x^2) for finite x, split like <see cref="ExpNegSquare"/>.</summary>
    private static double ExpSquare(double x)
    {
        double head = Math.Truncate(x * 16.0) / 16.0;
        double rest = (x - head) * (x + head);
        return Math.Exp(head * head) * Math.Exp(rest);
    }

    /// <summary>The error function erf(x) = 2/sqrt(pi) * integral_0^x exp(-u^2) du. Odd: erf(-x) = -erf(x) exactly.</summary>
    public static double Erf(double x)
    {
        double y = Math.Abs(x);
        if (y <= SmallBound)
            return x * ErfOverX(y > XSmall ? y * y : 0.0);
        double c = y < ErfcZero ? ExpNegSquare(y) * ErfcxAboveSmall(y) : (double.IsNaN(y) ? y : 0.0);
        double r = (0.5 - c) + 0.5;
        return x < 0 ? -r : r;
    }

    /// <summary>The complementary error function erfc(x) = 1 - erf(x), accurate in relative terms for large x.</summary>
    public static double Erfc(double x)
    {
        double y = Math.Abs(x);
        if (y <= SmallBound)
            return 1.0 - x * ErfOverX(y > XSmall ? y * y : 0.0);
        double c = y < ErfcZero ? ExpNegSquare(y) * ErfcxAboveSmall(y) : (double.IsNaN(y) ? y : 0.0);
        return x < 0 ? 2.0 - c : c;
    }

    /// <summary>
    /// The scaled complementary error function erfcx(x) = exp(x^2) erfc(x): about 1/(x sqrt(pi)) for
    /// large x with no underflow; +inf once the true value overflows (x &lt; -26.6287...).
    /// </summary>
    public static double Erfcx(double x)
    {
        double y = Math.Abs(x);
        if (y <= SmallBound)
        {
            double z = y > XSmall ? y * y : 0.0;
            return Math.Exp(z) * (1.0 - x * ErfOverX(z));
        }
        if (x < ErfcxOverflow)
            return double.PositiveInfinity;
        double r = ErfcxAboveSmall(y);
        if (x < 0)
        {
            double e = ExpSquare(x);
            r = (e + e) - r;
        }
        return r;
    }

    /// <summary>The standard normal density exp(-t^2/2)/sqrt(2 pi), with t^2 split so large |t| keeps full relative accuracy.</summary>
    public static double NormalPdf(double t)
    {
        double a = Math.Abs(t);
        if (a > 40.0)
            return 0.0; // exp(-800) underflows; also covers +-inf
        // a^2/2 = head^2/2 + (a-head)(a+head)/2 with head^2 exact (head has 4 fraction bits, a <= 40).
        double head = Math.Truncate(a * 16.0) / 16.0;
        double rest = (a - head) * (a + head);
        return InvSqrt2Pi * (Math.Exp(-0.5 * (head * head)) * Math.Exp(-0.5 * rest)); // NaN -> NaN
    }

    /// <summary>
    /// The standard normal CDF Phi(t) = erfc(-t/sqrt 2)/2. Below t = -1 it is evaluated as
    /// pdf(t) * sqrt(pi/2) * erfcx(-t/sqrt 2) (the Mills-ratio form), which keeps full relative
    /// accuracy deep in the lower tail instead of amplifying the rounding of t/sqrt 2 by ~t^2.
    /// </summary>
    public static double NormalCdf(double t)
    {
        if (t >= -1.0)
            return 0.5 * Erfc(-t * InvSqrt2); // +inf -> 1
        if (t < -40.0)
            return 0.0; // below 1e-350: underflows; also covers -inf
        return NormalPdf(t) * (SqrtHalfPi * Erfcx(-t * InvSqrt2)); // NaN -> NaN
    }

    /// <summary>
    /// pdf(t) / Phi(t) (the reciprocal Mills ratio of the lower tail), finite and accurate for every t
    /// even where pdf and Phi underflow: about |t| + 1/|t| for t -&gt; -inf (+inf at -inf), about pdf(t) -&gt; 0
    /// for t -&gt; +inf.
    /// </summary>
    public static double NormalPdfOverCdf(double t)
    {
        // Upper side: Phi >= 0.158, the plain ratio is accurate (and erfcx of a negative argument would
        // amplify the rounding of t/sqrt 2 by t^2). +inf -> 0.
        if (t >= -1.0)
            return NormalPdf(t) / NormalCdf(t);
        // Lower side: exp(-t^2/2) cancels: sqrt(2/pi) / erfcx(|t|/sqrt 2), with erfcx well conditioned
        // there. erfcx(+inf) = 0 gives +inf at t = -inf (the limit); NaN -> NaN.
        return (1.0 / SqrtHalfPi) / Erfcx(-t * InvSqrt2);
    }
}
