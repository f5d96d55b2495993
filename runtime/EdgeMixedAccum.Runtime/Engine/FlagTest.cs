using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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
        => Flags(Kinks(act), s, kappa, bound, tau, tauNegative, out predicted);

    /// <summary><see cref="Flags(in Activation, double, double, double, double, double, out double)"/> with the
    /// activation's kinks computed once (<see cref="Kinks"/>): the engine's per-component form.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Flags(in GuardKinks kinks, double s, double kappa, double bound, double tau, double tauNegative, out double predicted)
    {
        predicted = kappa == 0 || bound == 0 ? 0 : kappa * bound / Math.Abs(s);
        bool flag = predicted > tau || double.IsNaN(predicted);
        if (!flag && bound > 0) flag = bound > tauNegative * kinks.Distance(s);
        return flag;
    }

    /// <summary>
    /// The authors' test (their MPTorch code): flagged where kappa_phi(s) / |s| &gt; tau; for ReLU, exactly the
    /// components with 0 &lt; s &lt; 1/tau. No bound, no guard: negative ReLU results are never recomputed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool FlagsAuthors(double s, double kappa, double tau) => kappa != 0 && !(kappa / Math.Abs(s) <= tau);

    /// <summary>
    /// <see cref="Flags"/> over a unit, for activations whose guard distance is |s| (all but Clip and LeakyReluClip):
    /// 16 components per step in Vector512 lanes where accelerated, then 4 per step in Vector128 lanes, each step
    /// decided by a float screen (<see cref="FlagScreen{TV, TL}"/>) or by the scalar test's double operations in
    /// double lanes, so the same flags and predictions. Appends the indices of flagged components to <paramref name="rows"/> at <paramref name="n"/> (entries past the new n may be overwritten),
    /// raises <paramref name="maxPredicted"/> over the unflagged ones, and returns where it stopped: the caller runs
    /// the scalar test from there (the odd tail, or a pair holding a non-finite s_hat, which the caller counts).
    /// </summary>
    public static int FlagsVector(ReadOnlySpan<float> s, ReadOnlySpan<float> kappa, ReadOnlySpan<double> bound, double tau, double tauNegative,
        Span<int> rows, ref int n, ref double maxPredicted) =>
        FlagsVector(GuardKinks.Zero, s, kappa, bound, tau, tauNegative, rows, ref n, ref maxPredicted);

    /// <summary><see cref="FlagsVector(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{double}, double, double, Span{int}, ref int, ref double)"/>
    /// with the guard distance to the given kinks (the same double operations as <see cref="GuardKinks.Distance"/>),
    /// for every activation: Clip and LeakyReluClip included.</summary>
    public static int FlagsVector(in GuardKinks kinks, ReadOnlySpan<float> s, ReadOnlySpan<float> kappa, ReadOnlySpan<double> bound, double tau, double tauNegative,
        Span<int> rows, ref int n, ref double maxPredicted) =>
        FlagsVector(in kinks, s, kappa, bound, tau, tauNegative, rows, ref n, ref maxPredicted, LaneWidth.Best);

    /// <param name="width">The widest loop to run first (<see cref="LaneWidth"/>: 512 on AVX-512, 256 on AVX2, then
    /// 128 for the tail); tests run each width this machine has on the same inputs.</param>
    internal static int FlagsVector(in GuardKinks kinks, ReadOnlySpan<float> s, ReadOnlySpan<float> kappa, ReadOnlySpan<double> bound, double tau, double tauNegative,
        Span<int> rows, ref int n, ref double maxPredicted, int width)
    {
        var plan = new FlagPlan(in kinks, tau, tauNegative);
        return FlagsVector(in plan, s, kappa, bound, rows, ref n, ref maxPredicted, width);
    }

    /// <summary>The vector test with its per-layer constants built once (<see cref="FlagPlan"/>): the engine's form.</summary>
    internal static int FlagsVector(in FlagPlan plan, ReadOnlySpan<float> s, ReadOnlySpan<float> kappa, ReadOnlySpan<double> bound,
        Span<int> rows, ref int n, ref double maxPredicted, int width)
    {
        var b = new SpanBound(bound);
        var k = new SpanKappa(kappa);
        return FlagsVector(in plan, s, ref k, ref b, rows, ref n, ref maxPredicted, width);
    }

    /// <summary>The vector test over any source of the components' flag bounds (<see cref="IFlagBound"/>): the
    /// double bounds themselves, or a conv channel's, enclosed in float from |s| and computed in double only for
    /// the blocks the float screen leaves undecided. Returns where it stopped, as above; from there the caller needs
    /// the exact bounds.</summary>
    /// <remarks>And over any source of kappa (<see cref="IFlagKappa"/>): the computed kappa, or a piecewise-linear
    /// activation's enclosed in the loop's registers from s.</remarks>
    internal static int FlagsVector<TK, TB>(in FlagPlan plan, ReadOnlySpan<float> s, ref TK kappa, ref TB bound,
        Span<int> rows, ref int n, ref double maxPredicted, int width)
        where TK : struct, IFlagKappa, allows ref struct where TB : struct, IFlagBound, allows ref struct
    {
        // No band: a null reference, not a FlagBand.Off to zero on every call (a Dense unit is one call).
        return FlagsVector(in plan, s, ref kappa, ref bound, ref Unsafe.NullRef<FlagBand>(), rows, ref n, ref maxPredicted, width);
    }

    /// <summary>The vector test with a row's <see cref="FlagBand"/> (set for these bounds by <see cref="FlagBand.Row"/>;
    /// a null reference or a band that is off: none)
    /// in front of the float screen in each loop: the band runs its own loop over the blocks it decides, the screen
    /// (or the exact test) takes the block it stops at, then the band again.</summary>
    internal static int FlagsVector<TK, TB>(in FlagPlan plan, ReadOnlySpan<float> s, ref TK kappa, ref TB bound, ref FlagBand band,
        Span<int> rows, ref int n, ref double maxPredicted, int width)
        where TK : struct, IFlagKappa, allows ref struct where TB : struct, IFlagBound, allows ref struct
    {
        int i = 0;
        width = Math.Min(width, LaneWidth.Best); // a wider request than the machine runs takes its widest loop
        if (!Vector128.IsHardwareAccelerated || width < 128) return 0;
        int len = Math.Min(s.Length, Math.Min(kappa.Length, bound.Length));
        if (rows.Length < len) throw new ArgumentException("FlagTest: rows shorter than s");
        if (width >= 512) i = Flags512(in plan, s[..len], ref kappa, ref bound, ref band, rows, ref n, ref maxPredicted);
        else if (width >= 256) i = Flags256(in plan, s[..len], ref kappa, ref bound, ref band, rows, ref n, ref maxPredicted);
        ref readonly var kinks = ref plan.Kinks;
        double tau = plan.Tau;
        var vt = Vector128.Create(tau);
        var vg = Vector128.Create(plan.TauNegative);
        var max = Vector128.Create(maxPredicted);
        bool kinked = plan.Kinked;
        ref readonly var screen = ref plan.Screen128;
        double top = maxPredicted; // the running maximum as of the last exact block
        var tLo = FlagScreen<Vector128<float>, Lanes128>.Below(Math.Min(tau, top));
        bool banded = !Unsafe.IsNullRef(ref band) && band.On;
        if (banded) band.Retarget(Math.Min(tau, top));
        ref float sr = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(s);
        while (i + 4 <= len) // len <= s, kappa and the bound's length (above)
        {
            // Runs of blocks the screen decides, in a loop with no call: with the exact path's calls in the same loop
            // the register allocator saved and restored the running state (i, the threshold) on every block.
            bool undecided = false;
            for (; i + 4 <= len; i += 4)
            {
                // The band first, in its own loop: the screen takes the block it stops at.
                if (banded && (i = BandLanes<Vector128<float>, Lanes128>.Run(in band, ref sr, i, len, rows, ref n)) + 4 > len) break;
                var sf = Vector128.LoadUnsafe(ref sr, (nuint)i);
                if (!Vector128.EqualsAll(sf - sf, Vector128<float>.Zero)) break; // a non-finite s_hat: the pairs, then the caller
                kappa.Range(i, sf, out var kLo, out var kHi);
                bound.Range(i, Vector128.Abs(sf), out var lo, out var hi);
                if (!screen.Decide(sf, kLo, kHi, lo, hi, tLo, out var sure)) { undecided = true; break; }
                // Most blocks flag nothing: on NEON a zero test (UMAXV) is cheaper than gathering the sign bits.
                if (Vector128.EqualsAll(sure.AsUInt32(), Vector128<uint>.Zero)) continue;
                for (uint b = sure.ExtractMostSignificantBits(); b != 0; b &= b - 1) rows[n++] = i + System.Numerics.BitOperations.TrailingZeroCount(b);
            }
            if (!undecided) break;
            // Block i: the exact test in double lanes.
            var e = bound.Exact(i, 4);
            var ke = kappa.Exact(i, 4);
            var (s0, s1) = Vector128.Widen(Vector128.LoadUnsafe(ref sr, (nuint)i));
            var (k0, k1) = Vector128.Widen(Vector128.Create(ke));
            uint bits = Pair(s0, k0, Vector128.Create(e[..2]), in kinks, kinked, vt, vg, ref max)
                | (Pair(s1, k1, Vector128.Create(e[2..4]), in kinks, kinked, vt, vg, ref max) << 2);
            double m = HorizontalMax(max);
            if (m != top)
            {
                top = m; tLo = FlagScreen<Vector128<float>, Lanes128>.Below(Math.Min(tau, top));
                if (banded) band.Retarget(Math.Min(tau, top));
            }
            for (; bits != 0; bits &= bits - 1) rows[n++] = i + System.Numerics.BitOperations.TrailingZeroCount(bits);
            i += 4;
        }
        for (; i + 2 <= len; i += 2)
        {
            var sv = Vector128.Create((double)s[i], s[i + 1]);
            if (!Vector128.EqualsAll(sv - sv, Vector128<double>.Zero)) break; // a non-finite s_hat: the caller's scalar loop
            var kp = kappa.Exact(i, 2);
            uint bits = Pair(sv, Vector128.Create((double)kp[0], kp[1]), Vector128.Create(bound.Exact(i, 2)), in kinks, kinked, vt, vg, ref max);
            if ((bits & 1) != 0) rows[n++] = i;
            if ((bits & 2) != 0) rows[n++] = i + 1;
        }
        maxPredicted = HorizontalMax(max);
        return i;
    }

    /// <summary>The exact test on two components in double lanes (the scalar test's operations); the flagged lanes' bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Pair(Vector128<double> sv, Vector128<double> kv, Vector128<double> bv, in GuardKinks kinks, bool kinked,
        Vector128<double> vt, Vector128<double> vg, ref Vector128<double> max)
    {
        var a = Vector128.Abs(sv);
        var d = kinked ? kinks.Distance(sv) : a;
        var none = Vector128.Equals(kv, Vector128<double>.Zero) | Vector128.Equals(bv, Vector128<double>.Zero);
        var pred = Vector128.ConditionalSelect(none, Vector128<double>.Zero, kv * bv / a);
        var flag = Vector128.GreaterThan(pred, vt) | ~Vector128.Equals(pred, pred)
            | (Vector128.GreaterThan(bv, Vector128<double>.Zero) & Vector128.GreaterThan(bv, vg * d));
        max = Vector128.MaxNative(max, Vector128.ConditionalSelect(flag, Vector128<double>.Zero, pred));
        return flag.ExtractMostSignificantBits();
    }

    /// <summary>The loop of <see cref="FlagsVector"/> 16 components at a time: a float screen (<see cref="FlagScreen{TV, TL}"/>)
    /// decides the block when it can, else Vector512 double lanes run the same double operations as the scalar test;
    /// either way the same flags and predictions. Stops before a block holding a non-finite s_hat.</summary>
    private static int Flags512<TK, TB>(in FlagPlan plan, ReadOnlySpan<float> s, ref TK kappa, ref TB bound, ref FlagBand band,
        Span<int> rows, ref int n, ref double maxPredicted)
        where TK : struct, IFlagKappa, allows ref struct where TB : struct, IFlagBound, allows ref struct
    {
        ref readonly var kinks = ref plan.Kinks;
        double tau = plan.Tau;
        int i = 0, len = s.Length;
        if (kappa.Length < len || bound.Length < len || rows.Length < len) throw new ArgumentException("FlagTest: spans shorter than s");
        ref float sr = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(s);
        ref int rr = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(rows);
        var vt = Vector512.Create(tau);
        var vg = Vector512.Create(plan.TauNegative);
        var max = Vector512.Create(maxPredicted);
        bool kinked = plan.Kinked;
        ref readonly var screen = ref plan.Screen512;
        double top = maxPredicted;                       // the running maximum as of the last exact block
        var tLo = FlagScreen<Vector512<float>, Lanes512>.Below(Math.Min(tau, top));
        bool banded = !Unsafe.IsNullRef(ref band) && band.On;
        if (banded) band.Retarget(Math.Min(tau, top));
        int cnt = n;
        for (; i + 16 <= len; i += 16)
        {
            if (banded && (i = BandLanes<Vector512<float>, Lanes512>.Run(in band, ref sr, i, len, rows, ref cnt)) + 16 > len) break;
            var sf = Vector512.LoadUnsafe(ref sr, (nuint)i);
            if (!Vector512.EqualsAll(sf - sf, Vector512<float>.Zero)) break; // a non-finite s_hat: the caller's scalar loop
            kappa.Range(i, sf, out var kLo, out var kHi);
            bound.Range(i, Vector512.Abs(sf), out var lo, out var hi);
            ulong bits;
            if (screen.Decide(sf, kLo, kHi, lo, hi, tLo, out var sure))
            {
                // Every lane decided in float lanes: the maximum cannot move. The flagged lanes' indices go to rows
                // in one compress and a whole-vector store (rows has room: cnt <= n + i), with no branch per flag:
                // with a few percent flagged, the bit loop below mispredicted about once per block.
                bits = sure.ExtractMostSignificantBits();
                if (cnt + 16 <= rows.Length)
                {
                    Avx512F.Compress(Vector512<int>.Zero, sure.AsInt32(), Vector512<int>.Indices + Vector512.Create(i)).StoreUnsafe(ref rr, (nuint)cnt);
                    cnt += System.Numerics.BitOperations.PopCount(bits);
                    continue;
                }
            }
            else
            {
                var e = bound.Exact(i, 16);
                var ke = kappa.Exact(i, 16);
                // s_hat reloaded after the calls: a vector live across a call is saved and restored around it, and
                // the register allocator did that on every block, decided or not.
                var (s0, s1) = Vector512.Widen(Vector512.LoadUnsafe(ref sr, (nuint)i));
                var (k0, k1) = Vector512.Widen(Vector512.Create(ke));
                bits = Lanes(s0, k0, Vector512.Create(e[..8]), in kinks, kinked, vt, vg, ref max)
                    | (Lanes(s1, k1, Vector512.Create(e[8..16]), in kinks, kinked, vt, vg, ref max) << 8);
                double m = HorizontalMax(max);
                if (m != top)
                {
                    top = m; tLo = FlagScreen<Vector512<float>, Lanes512>.Below(Math.Min(tau, top));
                    if (banded) band.Retarget(Math.Min(tau, top));
                }
            }
            while (bits != 0)
            {
                rows[cnt++] = i + System.Numerics.BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
            }
        }
        n = cnt;
        maxPredicted = HorizontalMax(max); // max started at maxPredicted
        return i;
    }

    /// <summary>The loop of <see cref="FlagsVector"/> 8 components at a time (AVX2): <see cref="Flags512"/>'s steps, the
    /// flagged lanes' indices appended by a bit loop (AVX2 has no compress).</summary>
    private static int Flags256<TK, TB>(in FlagPlan plan, ReadOnlySpan<float> s, ref TK kappa, ref TB bound, ref FlagBand band,
        Span<int> rows, ref int n, ref double maxPredicted)
        where TK : struct, IFlagKappa, allows ref struct where TB : struct, IFlagBound, allows ref struct
    {
        ref readonly var kinks = ref plan.Kinks;
        double tau = plan.Tau;
        int i = 0, len = s.Length;
        if (kappa.Length < len || bound.Length < len || rows.Length < len) throw new ArgumentException("FlagTest: spans shorter than s");
        ref float sr = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(s);
        var vt = Vector256.Create(tau);
        var vg = Vector256.Create(plan.TauNegative);
        var max = Vector256.Create(maxPredicted);
        bool kinked = plan.Kinked;
        ref readonly var screen = ref plan.Screen256;
        double top = maxPredicted;                       // the running maximum as of the last exact block
        var tLo = FlagScreen<Vector256<float>, Lanes256>.Below(Math.Min(tau, top));
        bool banded = !Unsafe.IsNullRef(ref band) && band.On;
        if (banded) band.Retarget(Math.Min(tau, top));
        int cnt = n;
        while (i + 8 <= len)
        {
            // Decided blocks in a loop with no call (as the 128-bit loop): x64 keeps no vector register across a call.
            bool undecided = false;
            for (; i + 8 <= len; i += 8)
            {
                if (banded && (i = BandLanes<Vector256<float>, Lanes256>.Run(in band, ref sr, i, len, rows, ref cnt)) + 8 > len) break;
                var sf = Vector256.LoadUnsafe(ref sr, (nuint)i);
                if (!Vector256.EqualsAll(sf - sf, Vector256<float>.Zero)) break; // a non-finite s_hat: the narrower loops, then the caller
                kappa.Range(i, sf, out var kLo, out var kHi);
                bound.Range(i, Vector256.Abs(sf), out var lo, out var hi);
                if (!screen.Decide(sf, kLo, kHi, lo, hi, tLo, out var sure)) { undecided = true; break; }
                for (uint b = sure.ExtractMostSignificantBits(); b != 0; b &= b - 1) rows[cnt++] = i + System.Numerics.BitOperations.TrailingZeroCount(b);
            }
            if (!undecided) break;
            var e = bound.Exact(i, 8);
            var ke = kappa.Exact(i, 8);
            var (s0, s1) = Vector256.Widen(Vector256.LoadUnsafe(ref sr, (nuint)i));
            var (k0, k1) = Vector256.Widen(Vector256.Create(ke));
            uint bits = Lanes(s0, k0, Vector256.Create(e[..4]), in kinks, kinked, vt, vg, ref max)
                | (Lanes(s1, k1, Vector256.Create(e[4..8]), in kinks, kinked, vt, vg, ref max) << 4);
            double m = HorizontalMax(max);
            if (m != top)
            {
                top = m; tLo = FlagScreen<Vector256<float>, Lanes256>.Below(Math.Min(tau, top));
                if (banded) band.Retarget(Math.Min(tau, top));
            }
            for (; bits != 0; bits &= bits - 1) rows[cnt++] = i + System.Numerics.BitOperations.TrailingZeroCount(bits);
            i += 8;
        }
        n = cnt;
        maxPredicted = HorizontalMax(max); // max started at maxPredicted
        return i;
    }

    /// <summary><see cref="Pair"/> on four components in Vector256 double lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Lanes(Vector256<double> sv, Vector256<double> kv, Vector256<double> bv, in GuardKinks kinks, bool kinked,
        Vector256<double> vt, Vector256<double> vg, ref Vector256<double> max)
    {
        var a = Vector256.Abs(sv);
        var d = kinked ? kinks.Distance(sv) : a;
        var none = Vector256.Equals(kv, Vector256<double>.Zero) | Vector256.Equals(bv, Vector256<double>.Zero);
        var pred = Vector256.ConditionalSelect(none, Vector256<double>.Zero, kv * bv / a);
        var flag = Vector256.GreaterThan(pred, vt) | ~Vector256.Equals(pred, pred)
            | (Vector256.GreaterThan(bv, Vector256<double>.Zero) & Vector256.GreaterThan(bv, vg * d));
        max = Vector256.MaxNative(max, Vector256.ConditionalSelect(flag, Vector256<double>.Zero, pred));
        return flag.ExtractMostSignificantBits();
    }

    /// <summary>The largest lane of the running maxima (one helper per width, each halving into the next).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double HorizontalMax(Vector512<double> v) => HorizontalMax(Vector256.Max(v.GetLower(), v.GetUpper()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double HorizontalMax(Vector256<double> v) => HorizontalMax(Vector128.Max(v.GetLower(), v.GetUpper()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double HorizontalMax(Vector128<double> v) => Math.Max(v[0], v[1]);

    /// <summary><see cref="Pair"/> on eight components in Vector512 double lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Lanes(Vector512<double> sv, Vector512<double> kv, Vector512<double> bv, in GuardKinks kinks, bool kinked,
        Vector512<double> vt, Vector512<double> vg, ref Vector512<double> max)
    {
        var a = Vector512.Abs(sv);
        var d = kinked ? kinks.Distance(sv) : a;
        var none = Vector512.Equals(kv, Vector512<double>.Zero) | Vector512.Equals(bv, Vector512<double>.Zero);
        var pred = Vector512.ConditionalSelect(none, Vector512<double>.Zero, kv * bv / a);
        var flag = Vector512.GreaterThan(pred, vt) | ~Vector512.Equals(pred, pred)
            | (Vector512.GreaterThan(bv, Vector512<double>.Zero) & Vector512.GreaterThan(bv, vg * d));
        max = Vector512.MaxNative(max, Vector512.ConditionalSelect(flag, Vector512<double>.Zero, pred));
        return flag.ExtractMostSignificantBits();
    }

    /// <summary>Distance from s to where phi changes behaviour (<see cref="Kinks"/>).</summary>
    public static double GuardDistance(in Activation act, double s) => Kinks(act).Distance(s);

    /// <summary>
    /// Where phi changes behaviour, for the guard: Clip's bounds; LeakyReluClip's sign kink and the points whose
    /// LeakyReLU value is a bound (t = v on the right side when v &gt;= 0, v / alpha on the left when that is
    /// negative); zero for every other activation (ReLU's kink, the sign).
    /// </summary>
    public static GuardKinks Kinks(in Activation act)
    {
        Span<double> k = stackalloc double[5];
        int n = 0;
        switch (act.Kind)
        {
            case ActivationKind.Clip:
                Add(k, ref n, act.Min);
                Add(k, ref n, act.Max);
                break;
            case ActivationKind.LeakyReluClip:
                Add(k, ref n, 0);
                foreach (double v in (ReadOnlySpan<double>)[act.Min, act.Max])
                {
                    if (v >= 0) Add(k, ref n, v);
                    if (act.Alpha != 0 && v / act.Alpha < 0) Add(k, ref n, v / act.Alpha);
                }
                break;
            default:
                return GuardKinks.Zero;
        }
        return new GuardKinks(n, k[0], k[1], k[2], k[3], k[4]);

        // Infinite bounds are no kinks (their distance is +inf); a repeated point counts once.
        static void Add(Span<double> k, ref int n, double v)
        {
            if (double.IsFinite(v) && !k[..n].Contains(v)) k[n++] = v;
        }
    }
}

/// <summary>The flag test's constants for one layer (tau, tau_negative, the kinks) and the float screens built from
/// them, made once per layer so a short row pays no set-up.</summary>
internal readonly struct FlagPlan
{
    public readonly GuardKinks Kinks;
    public readonly double Tau, TauNegative;
    /// <summary>Whether the guard measures a distance other than |s|: with tau_negative = +inf (uniform modes) the
    /// guard never fires whatever the distance, so it is skipped.</summary>
    public readonly bool Kinked;
    public readonly FlagScreen<Vector512<float>, Lanes512> Screen512;
    public readonly FlagScreen<Vector256<float>, Lanes256> Screen256;
    public readonly FlagScreen<Vector128<float>, Lanes128> Screen128;

    public FlagPlan(in GuardKinks kinks, double tau, double tauNegative)
    {
        Kinks = kinks; Tau = tau; TauNegative = tauNegative;
        Kinked = !kinks.IsZero && tauNegative != double.PositiveInfinity;
        Screen512 = new(in kinks, tau, tauNegative);
        Screen256 = new(in kinks, tau, tauNegative);
        Screen128 = new(in kinks, tau, tauNegative);
    }
}

/// <summary>
/// Up to five finite points where phi changes behaviour (the first <see cref="Count"/> of K0..K4); the guard distance
/// of a finite s is the least |s - K| (+inf when there is none). A least value is exact whatever the order, so the
/// scalar and the vector flag tests agree bit for bit. <see cref="Zero"/> (the sign) makes it |s|.
/// </summary>
public readonly record struct GuardKinks(int Count, double K0, double K1 = 0, double K2 = 0, double K3 = 0, double K4 = 0)
{
    public static GuardKinks Zero => new(1, 0);

    /// <summary>Only the sign kink: the vector test uses |s| itself.</summary>
    public bool IsZero => Count == 1 && K0 == 0;

    /// <summary>Kink c (c &lt; Count).</summary>
    internal double At(int c) => c switch { 0 => K0, 1 => K1, 2 => K2, 3 => K3, _ => K4 };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double Distance(double s)
    {
        double d = double.PositiveInfinity;
        for (int c = 0; c < Count; c++) d = Math.Min(d, Math.Abs(s - At(c)));
        return d;
    }

    /// <summary><see cref="Distance(double)"/> lane by lane (the least of the same differences: exact in any order).</summary>
    public Vector128<double> Distance(Vector128<double> s)
    {
        var d = Vector128.Create(double.PositiveInfinity);
        for (int c = 0; c < Count; c++) d = Vector128.MinNative(d, Vector128.Abs(s - Vector128.Create(At(c))));
        return d;
    }

    /// <summary><see cref="Distance(double)"/> lane by lane.</summary>
    public Vector256<double> Distance(Vector256<double> s)
    {
        var d = Vector256.Create(double.PositiveInfinity);
        for (int c = 0; c < Count; c++) d = Vector256.MinNative(d, Vector256.Abs(s - Vector256.Create(At(c))));
        return d;
    }

    /// <summary><see cref="Distance(double)"/> lane by lane.</summary>
    public Vector512<double> Distance(Vector512<double> s)
    {
        var d = Vector512.Create(double.PositiveInfinity);
        for (int c = 0; c < Count; c++) d = Vector512.MinNative(d, Vector512.Abs(s - Vector512.Create(At(c))));
        return d;
    }
}
