using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
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

    /// <summary>
    /// <see cref="Flags"/> over a unit, two components per Vector128&lt;double&gt; step, for activations whose guard
    /// distance is |s| (all but Clip): the same double operations as the scalar test, so the same flags and
    /// predictions. Appends the indices of flagged components to <paramref name="rows"/> at <paramref name="n"/>,
    /// raises <paramref name="maxPredicted"/> over the unflagged ones, and returns where it stopped: the caller runs
    /// the scalar test from there (the odd tail, or a pair holding a non-finite s_hat, which the caller counts).
    /// </summary>
    public static int FlagsVector(ReadOnlySpan<float> s, ReadOnlySpan<float> kappa, ReadOnlySpan<double> bound, double tau, double tauNegative,
        Span<int> rows, ref int n, ref double maxPredicted)
    {
        int i = 0;
        if (!Vector128.IsHardwareAccelerated) return 0;
        int len = Math.Min(s.Length, Math.Min(kappa.Length, bound.Length));
        if (Vector512.IsHardwareAccelerated) i = Flags512(s[..len], kappa, bound, tau, tauNegative, rows, ref n, ref maxPredicted);
        var vt = Vector128.Create(tau);
        var vg = Vector128.Create(tauNegative);
        var max = Vector128.Create(maxPredicted);
        for (; i + 2 <= len; i += 2)
        {
            var sv = Vector128.Create((double)s[i], s[i + 1]);
            if (!Vector128.EqualsAll(sv - sv, Vector128<double>.Zero)) break; // a non-finite s_hat: the caller's scalar loop
            var kv = Vector128.Create((double)kappa[i], kappa[i + 1]);
            var bv = Vector128.Create(bound[i], bound[i + 1]);
            var a = Vector128.Abs(sv);
            var none = Vector128.Equals(kv, Vector128<double>.Zero) | Vector128.Equals(bv, Vector128<double>.Zero);
            var pred = Vector128.ConditionalSelect(none, Vector128<double>.Zero, kv * bv / a);
            var flag = Vector128.GreaterThan(pred, vt) | ~Vector128.Equals(pred, pred)
                | (Vector128.GreaterThan(bv, Vector128<double>.Zero) & Vector128.GreaterThan(bv, vg * a));
            max = Vector128.Max(max, Vector128.ConditionalSelect(flag, Vector128<double>.Zero, pred));
            uint bits = flag.ExtractMostSignificantBits();
            if ((bits & 1) != 0) rows[n++] = i;
            if ((bits & 2) != 0) rows[n++] = i + 1;
        }
        maxPredicted = Math.Max(max[0], max[1]);
        return i;
    }

    /// <summary>The loop of <see cref="FlagsVector"/> 16 components at a time in Vector512 double lanes (the same
    /// double operations, so the same flags and predictions); stops before a block holding a non-finite s_hat.</summary>
    private static int Flags512(ReadOnlySpan<float> s, ReadOnlySpan<float> kappa, ReadOnlySpan<double> bound, double tau, double tauNegative,
        Span<int> rows, ref int n, ref double maxPredicted)
    {
        int i = 0, len = s.Length;
        if (kappa.Length < len || bound.Length < len || rows.Length < len) throw new ArgumentException("FlagTest: spans shorter than s");
        ref float sr = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(s);
        ref float kr = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(kappa);
        ref double br = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(bound);
        var vt = Vector512.Create(tau);
        var vg = Vector512.Create(tauNegative);
        var max = Vector512.Create(maxPredicted);
        int cnt = n;
        for (; i + 16 <= len; i += 16)
        {
            var sf = Vector512.LoadUnsafe(ref sr, (nuint)i);
            if (!Vector512.EqualsAll(sf - sf, Vector512<float>.Zero)) break; // a non-finite s_hat: the caller's scalar loop
            var (s0, s1) = Vector512.Widen(sf);
            var (k0, k1) = Vector512.Widen(Vector512.LoadUnsafe(ref kr, (nuint)i));
            var b0 = Vector512.LoadUnsafe(ref br, (nuint)i);
            var b1 = Vector512.LoadUnsafe(ref br, (nuint)(i + 8));
            ulong bits = Lanes(s0, k0, b0, vt, vg, ref max) | (Lanes(s1, k1, b1, vt, vg, ref max) << 8);
            while (bits != 0)
            {
                rows[cnt++] = i + System.Numerics.BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
            }
        }
        n = cnt;
        double m = maxPredicted;
        for (int l = 0; l < 8; l++) m = Math.Max(m, max[l]);
        maxPredicted = m;
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Lanes(Vector512<double> sv, Vector512<double> kv, Vector512<double> bv, Vector512<double> vt, Vector512<double> vg, ref Vector512<double> max)
    {
        var a = Vector512.Abs(sv);
        var none = Vector512.Equals(kv, Vector512<double>.Zero) | Vector512.Equals(bv, Vector512<double>.Zero);
        var pred = Vector512.ConditionalSelect(none, Vector512<double>.Zero, kv * bv / a);
        var flag = Vector512.GreaterThan(pred, vt) | ~Vector512.Equals(pred, pred)
            | (Vector512.GreaterThan(bv, Vector512<double>.Zero) & Vector512.GreaterThan(bv, vg * a));
        max = Vector512.Max(max, Vector512.ConditionalSelect(flag, Vector512<double>.Zero, pred));
        return flag.ExtractMostSignificantBits();
    }

    /// <summary>Distance from s to where phi changes behaviour: Clip's nearest kink, else zero (ReLU's kink, the sign).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double GuardDistance(in Activation act, double s) => act.Kind == ActivationKind.Clip
        ? Math.Min(Math.Abs(s - act.Min), Math.Abs(s - act.Max))
        : Math.Abs(s);
}
