using System.Runtime.CompilerServices;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Runtime.Engine;

/// <summary>
/// Algorithm 1's flag test for one finite low-pass result (docs/engine.md), the one definition the runtime
/// and the study share: flagged when the predicted relative error kappa_phi(s_hat) * bound / |s_hat| exceeds tau,
/// or when the first-order guard fires (bound &gt; tauNegative * distance to a Clip kink, else to zero): the
/// test is first order, and once the bound reaches that distance kappa_phi(s_hat) says nothing about kappa_phi(s).
/// Non-finite results are flagged by the caller before this test.
/// </summary>
public static class FlagTest
{
    /// <param name="predicted">kappa * bound / |s| (0 when kappa or the bound is 0): the predicted relative error.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Flags(in Activation act, double s, double kappa, double bound, double tau, double tauNegative, out double predicted)
    {
        predicted = kappa == 0 || bound == 0 ? 0 : kappa * bound / Math.Abs(s);
        bool flag = predicted > tau || double.IsNaN(predicted);
        if (!flag && bound > 0) flag = bound > tauNegative * GuardDistance(act, s);
        return flag;
    }

    /// <summary>
    /// The authors' test (their MPTorch code): flagged where kappa_phi(s) / |s| &gt; tau; for ReLU, exactly the
    /// components with 0 &lt; s &lt; 1/tau. No bound, no guard: negative ReLU results are never recomputed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool FlagsAuthors(double s, double kappa, double tau) => kappa != 0 && !(kappa / Math.Abs(s) <= tau);

    /// <summary>Distance from s to where phi changes behaviour: Clip's nearest kink, else zero (ReLU's kink, the sign).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double GuardDistance(in Activation act, double s) => act.Kind == ActivationKind.Clip
        ? Math.Min(Math.Abs(s - act.Min), Math.Abs(s - act.Max))
        : Math.Abs(s);
}
