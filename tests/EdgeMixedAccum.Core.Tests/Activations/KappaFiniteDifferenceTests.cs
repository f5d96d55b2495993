using EdgeMixedAccum.Activations;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Tests.Activations;

/// <summary>
/// Done-when criterion: kappa_phi of each activation agrees with an fp64 finite-difference evaluation
/// |t phi'_fd(t) / phi(t)| to 1e-6 relative on a grid of t, including near its singular points; phi'_fd
/// is computed from Phi alone.
/// </summary>
/// <remarks>
/// Finite difference: 5-point central stencil D(h) = (f(t-2h) - 8f(t-h) + 8f(t+h) - f(t+2h)) / 12h
/// (error O(h^4)), Richardson-extrapolated as (16 D(h/2) - D(h)) / 15 (O(h^6)). The step is the
/// power of two below 1e-3 * min(1, distance to the nearest kink or zero of phi), so the stencil never
/// crosses a singular point, scales with t near one, and t +- h is exact for t away from 0.
///
/// Tolerance: |kappa - kappa_fd| &lt;= 1e-6 * max(kappa, 1e-3). That is 1e-6 relative wherever
/// kappa &gt;= 1e-3, and an absolute floor of 1e-9 only where kappa itself is ~0: the tails of tanh
/// (t beyond ~5) and of sigmoid for large positive t, and the immediate neighbourhood of the minima
/// of GELU (t = -0.7518) and SiLU (t = -1.2785) where phi' = 0. In those tails phi' is below the
/// rounding noise of phi (phi ~ 1, phi' ~ 4e^(-2t)), so no fp64 finite difference can resolve it
/// relative to itself; the floor is far above the FD noise (~1e-11 there) and far below any kappa
/// that matters for flagging.
/// </remarks>
public class KappaFiniteDifferenceTests
{
    private const double RelTol = 1e-6;
    private const double KappaFloor = 1e-3;

    /// <summary>The grid: dense -30..30 (step 0.0173, never exactly on a singular point), points near each
    /// singular point from both sides, near the minima of GELU/SiLU, and tails.</summary>
    private static List<double> Grid(Activation a)
    {
        var g = new List<double>();
        for (int k = 0; k <= 3468; k++)
            g.Add(-30.0 + 0.0173 * k);
        // Near each singular point p from both sides. At p = 0 everything scales with t, so the FD stays
        // accurate down to |t| = 1e-9. At a kink p != 0 (Clip bounds) the stencil sums ~8|p| with
        // rounding eps*8|p| against h ~ 1e-3 |t - p|, so relative offsets stop at 1e-6 (FD noise ~1e-8);
        // closer than that the FD itself, not kappa, would be wrong.
        foreach (double p in ActivationCases.SingularPoints(a).Append(0.0).Distinct())
            foreach (double d in p == 0 ? new[] { 1e-1, 1e-2, 1e-3, 1e-4, 1e-6, 1e-8, 1e-9 } : [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6])
            {
                double off = d * Math.Max(1.0, Math.Abs(p));
                g.Add(p - off);
                g.Add(p + off);
            }
        // phi' = 0 at the GELU and SiLU minima: kappa ~ 0 there (floor applies right next to them).
        g.AddRange([-0.7517915246935645, -0.75, -0.76, -1.2784645427610737, -1.27, -1.29]);
        g.AddRange([-35.0, 35.0, -37.0, 37.0, -50.0, 50.0, -100.0, 100.0, -200.0, 200.0, -700.0, 700.0]);
        return g;
    }

    /// <summary>Points explicitly left out, with the reason; everything else on the grid is checked.</summary>
    private static bool Skip(Activation a, double t)
    {
        // Exactly on a kink or zero of phi: kappa there is a limit, tested in ActivationLimitTests.
        if (ActivationCases.SingularPoints(a).Contains(t))
            return true;
        // GELU below -37.5: Phi_N(t) < 2.2e-308 is subnormal (and 0 below -38.5), so phi loses its
        // relative precision and t phi'/phi is not computable from phi. (-37 is still checked.)
        if (a.Kind == ActivationKind.Gelu && t < -37.5)
            return true;
        // SiLU/sigmoid below about -708: e^t is subnormal, same reason. (-700 is still checked.)
        if (a.Kind is ActivationKind.Silu or ActivationKind.Sigmoid && t < -708)
            return true;
        return false;
    }

    private static double Step(Activation a, double t)
    {
        double dist = 1.0;
        foreach (double p in ActivationCases.SingularPoints(a))
            dist = Math.Min(dist, Math.Abs(t - p));
        return Math.Pow(2.0, Math.Floor(Math.Log2(1e-3 * dist)));
    }

    private static double FdDerivative(Activation a, double t)
    {
        double h = Step(a, t);
        double D(double hh) =>
            (ActivationMath.Phi(a, t - 2 * hh) - 8 * ActivationMath.Phi(a, t - hh)
             + 8 * ActivationMath.Phi(a, t + hh) - ActivationMath.Phi(a, t + 2 * hh)) / (12 * hh);
        return (16 * D(h / 2) - D(h)) / 15;
    }

    [Theory]
    [MemberData(nameof(ActivationCases.Data), MemberType = typeof(ActivationCases))]
    public void Kappa_matches_fp64_finite_difference(Activation a)
    {
        int checkedPoints = 0;
        var failures = new List<string>();
        foreach (double t in Grid(a))
        {
            if (Skip(a, t))
                continue;
            double phi = ActivationMath.Phi(a, t);
            double dfd = FdDerivative(a, t);
            double kfd;
            if (phi == 0)
            {
                // phi is identically 0 on a whole interval (ReLU / LeakyReLU(0) / Clip(0, .) below 0):
                // the FD derivative is exactly 0 there and kappa_phi is 0 by definition (no precision needed).
                Assert.Equal(0.0, dfd);
                kfd = 0.0;
            }
            else
            {
                kfd = Math.Abs(t * dfd / phi);
            }
            double k = ActivationMath.Kappa(a, t);
            if (!(Math.Abs(k - kfd) <= RelTol * Math.Max(k, KappaFloor)))
                failures.Add($"t={t:R}: kappa={k:R} fd={kfd:R}");
            checkedPoints++;
        }
        Assert.True(checkedPoints > 3400, $"only {checkedPoints} points checked");
        Assert.True(failures.Count == 0, $"{a}: {failures.Count} mismatches, e.g. " + string.Join("; ", failures.Take(5)));
    }

    /// <summary>
    /// phi' against the same finite difference: |phi' - fd| &lt;= 1e-6 |phi'| + 1e-9 |phi(t)| / max(|t|, 1).
    /// The absolute part is the FD's own rounding scale (eps |phi| / h, h ~ 1e-3 min(1, |t|)); it only
    /// matters where phi' is far below phi (tanh and sigmoid tails) or near the GELU/SiLU minima.
    /// </summary>
    [Theory]
    [MemberData(nameof(ActivationCases.Data), MemberType = typeof(ActivationCases))]
    public void Derivative_matches_fp64_finite_difference(Activation a)
    {
        var failures = new List<string>();
        foreach (double t in Grid(a))
        {
            if (Skip(a, t))
                continue;
            double phi = ActivationMath.Phi(a, t);
            double dfd = FdDerivative(a, t);
            double d = ActivationMath.Derivative(a, t);
            double tol = RelTol * Math.Abs(d) + 1e-9 * Math.Abs(phi) / Math.Max(Math.Abs(t), 1.0);
            if (!(Math.Abs(d - dfd) <= tol))
                failures.Add($"t={t:R}: phi'={d:R} fd={dfd:R}");
        }
        Assert.True(failures.Count == 0, $"{a}: {failures.Count} mismatches, e.g. " + string.Join("; ", failures.Take(5)));
    }
}
