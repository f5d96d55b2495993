using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeMixedAccum.Activations;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Runtime.Engine;

/// <summary>Outward rounding of doubles to float, for thresholds a float comparison must honour exactly.</summary>
internal static class F32Round
{
    /// <summary>The largest float at most v (beyond float range above: the largest float; below: -inf).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Down(double v)
    {
        float f = (float)Math.Min(v, float.MaxValue);
        return f > v ? MathF.BitDecrement(f) : f;
    }

    /// <summary>The least float at least v (+inf beyond float range).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Up(double v)
    {
        float f = (float)v;
        return f < v ? MathF.BitIncrement(f) : f;
    }
}

/// <summary>
/// The flag test of one untraced int8 conv channel row as thresholds on s_hat alone, in front of the float screen
/// (<see cref="FlagScreen{TV, TL}"/>). It holds where the screen's inputs are simplest: the row's bounds are affine in
/// |s| (<see cref="ChannelBound"/>: C &lt;= B &lt;= C' + A'|s|, one C per channel) and the activation is piecewise
/// linear (kappa_phi in {0, 1}: identity, ReLU, LeakyReLU, Clip, LeakyReLU+clamp). The exact test's outcome is then a
/// function of s alone, and two sets of intervals, computed once per row in double with margins and rounded outward
/// to float, decide most lanes with a few comparisons:
/// - not flagged, no new maximum (T = min(tau, running maximum)): with kappa &lt;= 1, fl(kappa B / |s|) &lt;= T once
///   C' + A'|s| &lt;= T |s| (rounding is monotone and T a double), so |s| &gt;= C' / (T - A'); where kappa = 0 for
///   every s &lt; 0 (ReLU; a clamped LeakyReLU with alpha = 0) the negative side needs no such threshold. The guard
///   stays quiet when C' + A'|s| &lt;= g' |s - K| for every kink K (g' = tau_negative (1 - 2^-40) below the rounding of
///   the guard's two double operations): |s| &gt;= C' / (g' - A') for K = 0, and for K != 0 s outside
///   K -+ (C' + A'|K|) / (g' - A') (as |s| &lt;= |K| + |s - K|);
/// - flagged: where kappa = 1 for certain (an interval around 0, from the activation), fl(B / |s|) &gt; tau once
///   C / |s| &gt;= tau (1 + 2^-52) (B &gt;= C: the added terms are non-negative), so |s| &lt;= C / tau (1 - 2^-41);
///   s = 0 gives B / 0 = +inf. The guard fires once C &gt; fl(tau_negative fl(|s - K|)) for some kink K: |s - K| &lt;=
///   C / tau_negative (1 - 2^-41).
/// Every threshold carries a relative margin of 2^-40 (against the few roundings of its own computation) and is
/// rounded outward to float, so a float comparison with it implies the real inequality; a lane neither quiet nor
/// flagged (and any non-finite s) goes to the screen. A decided lane therefore has the exact test's outcome, and
/// the running maximum does not move. Kinks besides 0: at most two (more: the band is off).
/// </summary>
internal struct FlagBand
{
    private const double Margin = 9.094947017729282e-13; // 2^-40
    private const double Ulp50 = 8.881784197001252e-16;  // 2^-50: a double sum's rounding, relative to its operands

    /// <summary>Whether the band applies to the layer (<see cref="For"/>); a row's thresholds come from <see cref="Row"/>.</summary>
    public readonly bool On;
    private readonly bool _tauSure, _guard, _zeroKink, _negKappa, _zone;
    private readonly double _tau, _g, _zNeg, _zPos;
    /// <summary>Whether a component can be flagged at all (tau or tau_negative finite).</summary>
    public readonly bool CanFlag => _tauSure || _guard;
    /// <summary>The kinks besides 0 (at most two) when the guard is on; else 0.</summary>
    public readonly int KinkCount;
    private readonly double _k1, _k2;
    private double _cHi, _aHi, _r0, _t;

    /// <summary>Quiet: s &lt;= NegQ or s &gt;= PosQ, and outside (Lo1, Hi1) and (Lo2, Hi2) for the kinks besides 0.</summary>
    public float NegQ, PosQ, Lo1, Hi1, Lo2, Hi2;
    /// <summary>Flagged: FNeg &lt;= s &lt;= FPos (around 0), or FLo1 &lt;= s &lt;= FHi1, FLo2 &lt;= s &lt;= FHi2 (the other kinks).</summary>
    public float FNeg, FPos, FLo1, FHi1, FLo2, FHi2;

    public static FlagBand Off => default;

    private FlagBand(in Activation act, in ActivationParams p, in GuardKinks kinks, double tau, double tauNegative)
    {
        var kind = FlagKappa.Of(act);
        _tau = tau; _g = tauNegative;
        _tauSure = tau != double.PositiveInfinity;
        _guard = tauNegative != double.PositiveInfinity;
        int nz = 0;
        for (int c = 0; c < kinks.Count; c++)
        {
            double k = kinks.At(c);
            if (k == 0) { _zeroKink = true; continue; }
            if (nz == 0) _k1 = k; else _k2 = k;
            nz++;
        }
        KinkCount = _guard ? nz : 0;
        On = kind != FlagKappaKind.Row && nz <= 2 && !double.IsNaN(tau) && !double.IsNaN(tauNegative);
        // Where kappa = 1 for certain, [-zNeg, zPos] around 0 (both >= 0), and whether kappa may be 1 below 0.
        switch (kind)
        {
            case FlagKappaKind.Unit:
                _negKappa = true; _zone = true; _zNeg = _zPos = double.PositiveInfinity;
                break;
            case FlagKappaKind.Sign: // kappa(-0) = 1, kappa(s < 0) = 0
                _negKappa = false; _zone = true; _zNeg = 0; _zPos = double.PositiveInfinity;
                break;
            case FlagKappaKind.Clamp:
            {
                double alpha = act.Kind == ActivationKind.Clip ? 1 : p.Alpha;
                _negKappa = alpha != 0;
                // kappa is LeakyReLU's (1 for s >= 0; for s < 0, 1 when alpha != 0) where its double value lies in
                // [Min, Max], a non-degenerate range holding 0: then s in [0, Max] is inside, and s < 0 is while
                // alpha s stays in range: |s| <= (-Min) / alpha (alpha > 0) or Max / -alpha (alpha < 0), below the
                // product's rounding.
                _zone = p.Min < p.Max && p.Min <= 0 && p.Max >= 0;
                _zPos = p.Max;
                _zNeg = alpha == 0 ? 0 : (alpha > 0 ? -p.Min : p.Max) / Math.Abs(alpha) * (1 - Margin);
                break;
            }
        }
    }

    /// <summary>The band of a layer's flag test: off for activations whose kappa is computed (<see cref="FlagKappaKind.Row"/>).</summary>
    public static FlagBand For(in Activation act, in ActivationParams p, in FlagPlan plan) =>
        new(in act, in p, plan.Kinks, plan.Tau, plan.TauNegative);

    /// <summary>One channel row's thresholds from its bounds' affine enclosure (<see cref="ChannelBound.C"/>,
    /// CHi, AHi), against T = min(tau, running maximum).</summary>
    public void Row(double c, double cHi, double aHi, double t)
    {
        _cHi = cHi; _aHi = aHi; _t = double.NaN;
        Lo1 = Lo2 = float.PositiveInfinity; Hi1 = Hi2 = float.NegativeInfinity; // no kink: every s is outside
        _r0 = 0;
        if (_guard)
        {
            double gq = _g * (1 - Margin);
            double inv = gq > aHi ? 1 / (gq - aHi) : double.PositiveInfinity;
            if (_zeroKink) _r0 = cHi * inv * (1 + Margin);
            if (KinkCount > 0) Outside(_k1, cHi, aHi, inv, out Lo1, out Hi1);
            if (KinkCount > 1) Outside(_k2, cHi, aHi, inv, out Lo2, out Hi2);
        }
        Retarget(t);
        // The flagged intervals (none unless C > 0: B > 0 is part of both claims).
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        FLo1 = FLo2 = 1; FHi1 = FHi2 = -1;
        if (c > 0 && double.IsFinite(c))
        {
            if (_tauSure && _zone)
            {
                double ft = c / _tau * (1 - Margin);
                lo = -Math.Min(ft, _zNeg); hi = Math.Min(ft, _zPos);
            }
            if (_guard)
            {
                double f = c / _g * (1 - Margin);
                if (_zeroKink) { lo = Math.Min(lo, -f); hi = Math.Max(hi, f); }
                if (KinkCount > 0) Inside(_k1, f, out FLo1, out FHi1);
                if (KinkCount > 1) Inside(_k2, f, out FLo2, out FHi2);
            }
        }
        if (lo <= hi && !double.IsNaN(lo) && !double.IsNaN(hi))
        {
            FNeg = Math.Max(F32Round.Up(lo), -float.MaxValue); // finite: +-inf must not fall inside
            FPos = Math.Min(F32Round.Down(hi), float.MaxValue);
        }
        else { FNeg = 1; FPos = -1; }
    }

    /// <summary>The quiet thresholds around 0 against a new T = min(tau, running maximum).</summary>
    public void Retarget(double t)
    {
        if (t == _t) return; // the loops retarget at their start: mostly to the T the row began with (never a NaN T: Row's NaN)
        _t = t;
        double q = t > _aHi ? _cHi / (t - _aHi) * (1 + Margin) : double.PositiveInfinity;
        if (double.IsNaN(q)) q = double.PositiveInfinity;
        PosQ = F32Round.Up(Math.Max(q, _r0));
        // Below 0: the same threshold where kappa may be 1; else only the guard's, and s strictly negative (kappa(-0) = 1).
        NegQ = _negKappa ? -PosQ : -F32Round.Up(Math.Max(_r0, float.Epsilon));
    }

    /// <summary>Floats lo, hi with s &lt;= lo or s &gt;= hi implying |s - k| &gt;= r = (C' + A'|k|) / (g' - A').</summary>
    private static void Outside(double k, double cHi, double aHi, double inv, out float lo, out float hi)
    {
        double r = (cHi + aHi * Math.Abs(k)) * inv * (1 + Margin), e = (Math.Abs(k) + r) * Ulp50;
        lo = F32Round.Down(k - r - e);
        hi = F32Round.Up(k + r + e);
        if (double.IsNaN(r)) { lo = float.NegativeInfinity; hi = float.PositiveInfinity; }
    }

    /// <summary>Floats lo, hi with lo &lt;= s &lt;= hi implying |s - k| &lt;= f.</summary>
    private static void Inside(double k, double f, out float lo, out float hi)
    {
        double e = (Math.Abs(k) + f) * Ulp50;
        lo = Math.Max(F32Round.Up(k - f + e), -float.MaxValue);
        hi = Math.Min(F32Round.Down(k + f - e), float.MaxValue);
    }
}

/// <summary>The band's loop over <see cref="FlagBand"/>'s thresholds in lanes of one width, and its two lane tests.</summary>
internal static class BandLanes<TV, TL> where TV : struct where TL : struct, IFloatLanes<TV>
{
    /// <summary>
    /// The band over blocks of s from i while it decides them: flagged lanes' indices appended to rows at cnt.
    /// Returns the first block it cannot decide (a lane neither quiet nor flagged, or non-finite), or where fewer
    /// than a vector's lanes are left. Its own method, so its thresholds stay in registers (inside the flag loop,
    /// with the screen's and the exact path's state, the x64 allocator spilled them on every block); one loop per
    /// count of kinks besides 0, so a block pays no test of that count.
    /// Contract: len &lt;= s's length; rows without room for cnt + (len - i) entries make it decide nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int Run(in FlagBand band, ref float s, int i, int len, Span<int> rows, ref int cnt) =>
        band.NegQ == -band.PosQ // quiet around 0 is |s| >= PosQ: one comparison of |s| (where kappa may be 1 below 0)
            ? band.KinkCount switch
            {
                0 => Run<Kinks0, Symmetric>(in band, ref s, i, len, rows, ref cnt),
                1 => Run<Kinks1, Symmetric>(in band, ref s, i, len, rows, ref cnt),
                _ => Run<Kinks2, Symmetric>(in band, ref s, i, len, rows, ref cnt),
            }
            : band.KinkCount switch
            {
                0 => Run<Kinks0, Asymmetric>(in band, ref s, i, len, rows, ref cnt),
                1 => Run<Kinks1, Asymmetric>(in band, ref s, i, len, rows, ref cnt),
                _ => Run<Kinks2, Asymmetric>(in band, ref s, i, len, rows, ref cnt),
            };

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Run<TK, TS>(in FlagBand band, ref float s, int i, int len, Span<int> rows, ref int cnt) where TK : IKinkCount where TS : IBandSide
    {
        // The tables first: their class-initialisation check is a call, and vectors live across a call are spilled
        // or kept in the few callee-saved registers (on ARM64 the flag thresholds were reloaded every block).
        ref int idx = ref MemoryMarshal.GetArrayDataReference(LanePack.Indices);
        ref byte pop = ref MemoryMarshal.GetArrayDataReference(LanePack.Counts);
        // The lanes built here, not by the caller: a struct of twelve vectors passed by reference is a local the
        // caller's prologue zeroes on every call (2.4 KB of frame on x64; imu-conv1d's short rows ran 30% slower).
        var negQ = TL.Create(band.NegQ); var posQ = TL.Create(band.PosQ);
        var lo1 = TL.Create(band.Lo1); var hi1 = TL.Create(band.Hi1); var lo2 = TL.Create(band.Lo2); var hi2 = TL.Create(band.Hi2);
        var max = TL.Create(float.MaxValue);
        int n = cnt, w = TL.Count;
        if (!band.CanFlag) // tau = tau_negative = +inf (the uniform modes' report): nothing to flag
        {
            for (; i + w <= len; i += w)
                if (!TL.All(Quiet<TS>(TL.Load(ref s, (nuint)i), negQ, posQ, lo1, hi1, lo2, hi2, TK.N, max))) break;
            return i;
        }
        // The table's whole-vector stores need room past n: n + (len - i) entries (n <= i holds for the engine's rows,
        // which start empty); a caller's rows without that room get no band (the screen's writes are checked).
        if ((long)n + (len - i) > rows.Length) return i;
        var fNeg = TL.Create(band.FNeg); var fPos = TL.Create(band.FPos);
        var fLo1 = TL.Create(band.FLo1); var fHi1 = TL.Create(band.FHi1); var fLo2 = TL.Create(band.FLo2); var fHi2 = TL.Create(band.FHi2);
        ref int rr = ref MemoryMarshal.GetReference(rows);
        for (; i + w <= len; i += w)
        {
            var sf = TL.Load(ref s, (nuint)i);
            var quiet = Quiet<TS>(sf, negQ, posQ, lo1, hi1, lo2, hi2, TK.N, max);
            if (TL.All(quiet)) continue;
            var flag = Flagged(sf, fNeg, fPos, fLo1, fHi1, fLo2, fHi2, TK.N);
            if (!TL.All(TL.Or(quiet, flag))) break;
            // The flagged lanes' indices packed by table and stored whole, n advanced by their count (rows has room:
            // n <= i), without a branch per flag.
            LanePack.Append(TL.Bits(flag), i, w, ref idx, ref pop, ref rr, ref n);
        }
        cnt = n;
        return i;
    }

    /// <summary>Lanes certainly not flagged with no new maximum (false for a non-finite s): s &lt;= NegQ or s &gt;= PosQ,
    /// or with <see cref="Symmetric"/> (NegQ = -PosQ) |s| &gt;= PosQ, outside the kinks' intervals, and |s| &lt;= max,
    /// the largest float (finite: +-inf pass the other tests).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV Quiet<TS>(TV s, TV negQ, TV posQ, TV lo1, TV hi1, TV lo2, TV hi2, int kinks, TV max) where TS : IBandSide
    {
        var q = TS.IsSymmetric ? TL.AbsAtLeast(s, posQ) : TL.Or(TL.LessThanOrEqual(s, negQ), TL.GreaterThanOrEqual(s, posQ));
        if (kinks > 0) q = TL.And(q, TL.Or(TL.LessThanOrEqual(s, lo1), TL.GreaterThanOrEqual(s, hi1)));
        if (kinks > 1) q = TL.And(q, TL.Or(TL.LessThanOrEqual(s, lo2), TL.GreaterThanOrEqual(s, hi2)));
        return TL.And(q, TL.AbsAtMost(s, max));
    }

    /// <summary>Lanes certainly flagged (false for a non-finite s: the bounds are finite).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV Flagged(TV s, TV fNeg, TV fPos, TV fLo1, TV fHi1, TV fLo2, TV fHi2, int kinks)
    {
        var f = TL.And(TL.GreaterThanOrEqual(s, fNeg), TL.LessThanOrEqual(s, fPos));
        if (kinks > 0) f = TL.Or(f, TL.And(TL.GreaterThanOrEqual(s, fLo1), TL.LessThanOrEqual(s, fHi1)));
        if (kinks > 1) f = TL.Or(f, TL.And(TL.GreaterThanOrEqual(s, fLo2), TL.LessThanOrEqual(s, fHi2)));
        return f;
    }
}

/// <summary>Whether a loop's quiet test around 0 is symmetric (NegQ = -PosQ: one comparison of |s|), as a type.</summary>
internal interface IBandSide { static abstract bool IsSymmetric { get; } }
internal readonly struct Symmetric : IBandSide { public static bool IsSymmetric => true; }
internal readonly struct Asymmetric : IBandSide { public static bool IsSymmetric => false; }

/// <summary>A loop's count of kinks besides 0 as a type, so each count is its own compiled loop.</summary>
internal interface IKinkCount { static abstract int N { get; } }
internal readonly struct Kinks0 : IKinkCount { public static int N => 0; }
internal readonly struct Kinks1 : IKinkCount { public static int N => 1; }
internal readonly struct Kinks2 : IKinkCount { public static int N => 2; }

/// <summary>Left-packing of a comparison mask's lane indices by table (AVX2 and NEON have no compress): the indices of
/// the set bits of an 8-lane mask, 8 ints per mask value, and their counts.</summary>
internal static class LanePack
{
    public static readonly int[] Indices = BuildIndices();
    public static readonly byte[] Counts = BuildCounts();

    private static int[] BuildIndices()
    {
        var t = new int[256 * 8];
        for (int m = 0; m < 256; m++)
            for (int b = 0, k = 0; b < 8; b++)
                if ((m >> b & 1) != 0) t[m * 8 + k++] = b;
        return t;
    }

    private static byte[] BuildCounts()
    {
        var t = new byte[256];
        for (int m = 0; m < 256; m++) t[m] = (byte)System.Numerics.BitOperations.PopCount((uint)m);
        return t;
    }

    /// <summary>rows[n..] = i + the indices of mask's set bits (w lanes: 4, 8 or 16), n += their count. Writes w
    /// ints from n whatever the count. Contract: n + w &lt;= the rows' length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Append(uint mask, int i, int w, ref int idx, ref byte pop, ref int rows, ref int n)
    {
        if (w == 4)
        {
            (Vector128.LoadUnsafe(ref idx, (nuint)(mask * 8)) + Vector128.Create(i)).StoreUnsafe(ref rows, (nuint)n);
            n += Unsafe.Add(ref pop, mask);
            return;
        }
        for (int h = 0; h < w; h += 8, mask >>= 8)
        {
            uint m = mask & 0xFF;
            (Vector256.LoadUnsafe(ref idx, (nuint)(m * 8)) + Vector256.Create(i + h)).StoreUnsafe(ref rows, (nuint)n);
            n += Unsafe.Add(ref pop, m);
        }
    }
}
