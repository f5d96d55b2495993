using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeMixedAccum.Runtime.Engine;

/// <summary>The float lane operations <see cref="FlagScreen{TV, TL}"/> needs, one struct per vector width (the
/// operator-struct pattern), so the screen is written once for Vector512 (AVX-512), Vector256 (AVX2) and Vector128
/// (NEON, and the wider loops' tails).</summary>
internal interface IFloatLanes<TV> where TV : struct
{
    static abstract TV Create(float v);
    static abstract TV Abs(TV a);
    static abstract TV Add(TV a, TV b);
    static abstract TV Sub(TV a, TV b);
    static abstract TV Mul(TV a, TV b);
    /// <summary>Lane minimum for operands that are never NaN and never a signed-zero tie (one instruction).</summary>
    static abstract TV Min(TV a, TV b);
    static abstract TV LessThan(TV a, TV b);
    static abstract TV EqualTo(TV a, TV b);
    static abstract TV GreaterThan(TV a, TV b);
    static abstract TV GreaterThanOrEqual(TV a, TV b);
    static abstract TV LessThanOrEqual(TV a, TV b);
    static abstract TV And(TV a, TV b);
    static abstract TV Or(TV a, TV b);
    /// <summary>Whether every lane of a comparison mask is set.</summary>
    static abstract bool All(TV mask);
    /// <summary>|a| &gt;= b lane by lane, for b &gt;= 0 (false for a NaN a; one FACGE on NEON).</summary>
    static abstract TV AbsAtLeast(TV a, TV b);
    /// <summary>|a| &lt;= b lane by lane, for b &gt;= 0 (false for a NaN a: with b the largest float, a finiteness test).</summary>
    static abstract TV AbsAtMost(TV a, TV b);
    /// <summary>Lanes per vector.</summary>
    static abstract int Count { get; }
    static abstract TV Load(ref float r, nuint i);
    /// <summary>A comparison mask's lanes as bits (lane 0 lowest).</summary>
    static abstract uint Bits(TV mask);
}

internal readonly struct Lanes512 : IFloatLanes<Vector512<float>>
{
    public static Vector512<float> Create(float v) => Vector512.Create(v);
    public static Vector512<float> Abs(Vector512<float> a) => Vector512.Abs(a);
    public static Vector512<float> AbsAtLeast(Vector512<float> a, Vector512<float> b) => Vector512.GreaterThanOrEqual(Vector512.Abs(a), b);
    public static Vector512<float> AbsAtMost(Vector512<float> a, Vector512<float> b) => Vector512.LessThanOrEqual(Vector512.Abs(a), b);
    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    public static Vector512<float> Sub(Vector512<float> a, Vector512<float> b) => a - b;
    public static Vector512<float> Mul(Vector512<float> a, Vector512<float> b) => a * b;
    public static Vector512<float> Min(Vector512<float> a, Vector512<float> b) => Vector512.MinNative(a, b);
    public static Vector512<float> LessThan(Vector512<float> a, Vector512<float> b) => Vector512.LessThan(a, b);
    public static Vector512<float> EqualTo(Vector512<float> a, Vector512<float> b) => Vector512.Equals(a, b);
    public static Vector512<float> GreaterThan(Vector512<float> a, Vector512<float> b) => Vector512.GreaterThan(a, b);
    public static Vector512<float> GreaterThanOrEqual(Vector512<float> a, Vector512<float> b) => Vector512.GreaterThanOrEqual(a, b);
    public static Vector512<float> LessThanOrEqual(Vector512<float> a, Vector512<float> b) => Vector512.LessThanOrEqual(a, b);
    public static Vector512<float> And(Vector512<float> a, Vector512<float> b) => a & b;
    public static Vector512<float> Or(Vector512<float> a, Vector512<float> b) => a | b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool All(Vector512<float> mask) => Vector512.EqualsAll(mask.AsUInt32(), Vector512<uint>.AllBitsSet); // NEON: one UMINV, not a bit gather
    public static int Count => Vector512<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(ref float r, nuint i) => Vector512.LoadUnsafe(ref r, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Bits(Vector512<float> mask) => (uint)mask.ExtractMostSignificantBits();
}

internal readonly struct Lanes256 : IFloatLanes<Vector256<float>>
{
    public static Vector256<float> Create(float v) => Vector256.Create(v);
    public static Vector256<float> Abs(Vector256<float> a) => Vector256.Abs(a);
    public static Vector256<float> AbsAtLeast(Vector256<float> a, Vector256<float> b) => Vector256.GreaterThanOrEqual(Vector256.Abs(a), b);
    public static Vector256<float> AbsAtMost(Vector256<float> a, Vector256<float> b) => Vector256.LessThanOrEqual(Vector256.Abs(a), b);
    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    public static Vector256<float> Sub(Vector256<float> a, Vector256<float> b) => a - b;
    public static Vector256<float> Mul(Vector256<float> a, Vector256<float> b) => a * b;
    public static Vector256<float> Min(Vector256<float> a, Vector256<float> b) => Vector256.MinNative(a, b);
    public static Vector256<float> LessThan(Vector256<float> a, Vector256<float> b) => Vector256.LessThan(a, b);
    public static Vector256<float> EqualTo(Vector256<float> a, Vector256<float> b) => Vector256.Equals(a, b);
    public static Vector256<float> GreaterThan(Vector256<float> a, Vector256<float> b) => Vector256.GreaterThan(a, b);
    public static Vector256<float> GreaterThanOrEqual(Vector256<float> a, Vector256<float> b) => Vector256.GreaterThanOrEqual(a, b);
    public static Vector256<float> LessThanOrEqual(Vector256<float> a, Vector256<float> b) => Vector256.LessThanOrEqual(a, b);
    public static Vector256<float> And(Vector256<float> a, Vector256<float> b) => a & b;
    public static Vector256<float> Or(Vector256<float> a, Vector256<float> b) => a | b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool All(Vector256<float> mask) => Vector256.EqualsAll(mask.AsUInt32(), Vector256<uint>.AllBitsSet); // NEON: one UMINV, not a bit gather
    public static int Count => Vector256<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(ref float r, nuint i) => Vector256.LoadUnsafe(ref r, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Bits(Vector256<float> mask) => (uint)mask.ExtractMostSignificantBits();
}

internal readonly struct Lanes128 : IFloatLanes<Vector128<float>>
{
    public static Vector128<float> Create(float v) => Vector128.Create(v);
    public static Vector128<float> Abs(Vector128<float> a) => Vector128.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> AbsAtLeast(Vector128<float> a, Vector128<float> b) => AdvSimd.IsSupported
        ? AdvSimd.AbsoluteCompareGreaterThanOrEqual(a, b) : Vector128.GreaterThanOrEqual(Vector128.Abs(a), b); // b >= 0: |b| = b
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> AbsAtMost(Vector128<float> a, Vector128<float> b) => AdvSimd.IsSupported
        ? AdvSimd.AbsoluteCompareLessThanOrEqual(a, b) : Vector128.LessThanOrEqual(Vector128.Abs(a), b);
    public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    public static Vector128<float> Sub(Vector128<float> a, Vector128<float> b) => a - b;
    public static Vector128<float> Mul(Vector128<float> a, Vector128<float> b) => a * b;
    public static Vector128<float> Min(Vector128<float> a, Vector128<float> b) => Vector128.MinNative(a, b);
    public static Vector128<float> LessThan(Vector128<float> a, Vector128<float> b) => Vector128.LessThan(a, b);
    public static Vector128<float> EqualTo(Vector128<float> a, Vector128<float> b) => Vector128.Equals(a, b);
    public static Vector128<float> GreaterThan(Vector128<float> a, Vector128<float> b) => Vector128.GreaterThan(a, b);
    public static Vector128<float> GreaterThanOrEqual(Vector128<float> a, Vector128<float> b) => Vector128.GreaterThanOrEqual(a, b);
    public static Vector128<float> LessThanOrEqual(Vector128<float> a, Vector128<float> b) => Vector128.LessThanOrEqual(a, b);
    public static Vector128<float> And(Vector128<float> a, Vector128<float> b) => a & b;
    public static Vector128<float> Or(Vector128<float> a, Vector128<float> b) => a | b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool All(Vector128<float> mask) => AdvSimd.Arm64.IsSupported
        // NEON: the pairwise minimum's low 64 bits are all ones iff every lane is (lanes are 0 or all ones): UMINP, FMOV,
        // CMN; EqualsAll compared with a materialised all-ones vector first (two more per block).
        ? AdvSimd.Arm64.MinPairwise(mask.AsUInt32(), mask.AsUInt32()).AsUInt64().ToScalar() == ulong.MaxValue
        : Vector128.EqualsAll(mask.AsUInt32(), Vector128<uint>.AllBitsSet);
    public static int Count => Vector128<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load(ref float r, nuint i) => Vector128.LoadUnsafe(ref r, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Bits(Vector128<float> mask) => // NEON has no bit gather: AND with lane weights and one ADDV (ExtractMostSignificantBits shifts first)
        Vector128.Sum(mask.AsUInt32() & Vector128.Create(1u, 2u, 4u, 8u));
}

/// <summary>
/// A float screen in front of the exact double flag test (<see cref="FlagTest"/>, its vector forms),
/// a vector of lanes at a time: each lane is decided "not flagged, and its prediction cannot raise the running
/// maximum" or "flagged" from float bounds that enclose the double quantities with margins of 2^-20 to 2^-22
/// (bound b, distance d, products), or the block goes to the exact test. The claims, for finite s:
/// - not flagged by tau, no new maximum: kappa b_hi + eps &lt; T_lo |s| with T = min(tau, running maximum),
///   so kappa b &lt; T |s| (1 - 2^-52) and the double prediction fl(fl(kappa b) / |s|) &lt;= T; or kappa = 0,
///   whose prediction is exactly 0;
/// - flagged by tau: kappa b_lo &gt; fl(tau_hi |s|) up + eps, so the double prediction exceeds tau;
/// - guard off: b_hi &lt; tauNeg_lo d_lo, so b &lt;= fl(tauNeg d); guard on: b_lo &gt; tauNeg_hi d_hi (up), so
///   b &gt; fl(tauNeg d) &gt;= 0.
/// d_lo and d_hi enclose the least distance to the kinks through float kinks and their rounding errors (exactly
/// |s| for the sign). A comparison with a quantity under 2^-100 decides nothing (float subnormals round by
/// absolute steps), nor does any NaN. So a decided lane has the exact test's outcome, and the running maximum only
/// moves in exact blocks, where the caller refreshes T (<see cref="Below"/>).
/// </summary>
internal readonly struct FlagScreen<TV, TL> where TV : struct where TL : struct, IFloatLanes<TV>
{
    // Constants, not static readonly vectors: NativeAOT reads a generic type's statics through a class-init check
    // (about five instructions per use on ARM64); a constant vector is one load.
    private const float Up = 1.0000002384185791015625f, Down = 0.9999997615814208984375f; // 1 +- 2^-22, exact
    private const float TinyF = 7.8886090522101180541e-31f; // 2^-100
    // Inlined by force: the x64 JIT left these getters as calls inside FlagsVector (seen in its Tier1 code).
    private static TV VUp { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => TL.Create(Up); }
    private static TV VDown { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => TL.Create(Down); }
    private static TV Tiny { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => TL.Create(TinyF); }
    private static TV Eps { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => TL.Create(float.Epsilon); }
    private static TV MaxFloat { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => TL.Create(float.MaxValue); }
    private readonly bool _sureTau, _guard;
    private readonly int _kc; // 0: the sign alone (d = |s| exactly), else the number of kinks
    private readonly TV _tauHi, _gLo, _gHi, _k0, _k1, _k2, _k3, _k4, _e0, _e1, _e2, _e3, _e4;
    // The largest of the kinks' rounding errors (_e0.._e4), when every kink is a finite float: the least distance is
    // then enclosed from the least float distance with that one error (Distances); else per kink.
    private readonly bool _oneError;
    private readonly TV _eMax;
    // With 0 among the kinks: |s| up to half the distance from 0 to the nearest other kink has d = |s| exactly
    // (|s - K| >= |K| - |s| >= |s|), so a block of such lanes needs no distances; -1 when 0 is no kink.
    private readonly TV _signOnly;

    public FlagScreen(in GuardKinks kinks, double tau, double tauNegative)
    {
        if (Up != 1 + MathF.ScaleB(1, -22) || Down != 1 - MathF.ScaleB(1, -22) || TinyF != MathF.ScaleB(1, -100))
            throw new InvalidOperationException("FlagScreen: a margin constant is not the power of two it stands for");
        _sureTau = tau != double.PositiveInfinity;
        _tauHi = TL.Create((float)(tau * (1 + Math.ScaleB(1, -20))));
        _guard = tauNegative != double.PositiveInfinity;
        _gLo = Below(tauNegative);
        _gHi = TL.Create((float)(tauNegative * (1 + Math.ScaleB(1, -20))));
        _kc = kinks.IsZero ? 0 : kinks.Count;
        // A kink beyond float range (v / alpha for a tiny alpha) becomes an infinite float, whose distance is +inf:
        // right in the least distance, as LeakyReluClip's kink 0 is nearer than it for every float s.
        (_k0, _e0) = Kink(kinks.K0); (_k1, _e1) = Kink(kinks.K1); (_k2, _e2) = Kink(kinks.K2);
        (_k3, _e3) = Kink(kinks.K3); (_k4, _e4) = Kink(kinks.K4);
        _oneError = true;
        double eMax = 0;
        for (int c = 0; c < kinks.Count; c++)
        {
            double k = kinks.At(c);
            _oneError &= float.IsFinite((float)k);
            eMax = Math.Max(eMax, Math.Abs(k - (float)k));
        }
        _eMax = KinkError(eMax);
        double near = double.PositiveInfinity;
        bool zero = false;
        for (int c = 0; c < kinks.Count; c++)
        {
            double k = kinks.At(c);
            if (k == 0) zero = true; else near = Math.Min(near, Math.Abs(k));
        }
        _signOnly = TL.Create(zero ? (float)(Math.Min(near / 2, float.MaxValue) * (1 - Math.ScaleB(1, -20))) : -1f);
    }

    /// <summary>t (1 - 2^-20) as a float at most t (t &gt;= 0; beyond float range the largest float).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Below(double t) => TL.Create((float)(Math.Min(t, float.MaxValue) * (1 - 9.5367431640625e-7))); // 2^-20, exact

    /// <summary>A kink as a float and a float at least its rounding error.</summary>
    private static (TV, TV) Kink(double k)
    {
        float f = double.IsFinite(k) ? (float)k : 0;
        return (TL.Create(f), KinkError(Math.Abs(k - f)));
    }

    /// <summary>A float at least a kink's rounding error e (with 2^-20 to spare, and never 0).</summary>
    private static TV KinkError(double e) => TL.Create((float)(e * (1 + Math.ScaleB(1, -20))) + float.Epsilon);

    /// <summary>Whether every lane is decided; <paramref name="flag"/> holds the lanes decided flagged. b: the lanes'
    /// double bounds rounded to float (<see cref="Enclose"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Decide(TV s, TV kappa, TV b, TV tLo, out TV flag)
    {
        Enclose(b, out var bLo, out var bHi);
        return Decide(s, kappa, kappa, bLo, bHi, tLo, out flag);
    }

    /// <summary>Float bounds bLo &lt;= B &lt;= bHi of double bounds B from their rounding to float b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Enclose(TV b, out TV bLo, out TV bHi)
    {
        bHi = TL.Add(TL.Mul(b, VUp), Eps);
        bLo = TL.Min(TL.Mul(b, VDown), MaxFloat); // a bound beyond float range converts to +inf
    }

    /// <summary><see cref="Decide(TV, TV, TV, TV, out TV)"/> from any float enclosures kLo &lt;= kappa &lt;= kHi of the
    /// lanes' kappa (<see cref="IFlagKappa"/>: equal, or a piecewise-linear activation's from s) and bLo &lt;= B &lt;= bHi
    /// of their double bounds B (<see cref="IFlagBound"/>: a conv channel's bounds enclosed from |s| without computing B).
    /// kHi serves the "not flagged" claims, kLo the "flagged" ones (kappa &gt;= 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Decide(TV s, TV kLo, TV kHi, TV bLo, TV bHi, TV tLo, out TV flag)
    {
        var a = TL.Abs(s);
        var bBig = TL.GreaterThanOrEqual(bLo, Tiny);
        var y = TL.Mul(tLo, a);
        // kappa = 0 predicts exactly 0: never over tau, never a new maximum (the ReLU's negative side, where the
        // maximum may stay 0 for a whole layer).
        var quiet = TL.Or(TL.And(TL.LessThan(TL.Add(TL.Mul(kHi, bHi), Eps), y), TL.GreaterThanOrEqual(y, Tiny)), TL.EqualTo(kHi, default));
        flag = default;
        if (_sureTau) flag = TL.And(TL.GreaterThan(TL.Mul(kLo, bLo), TL.Add(TL.Mul(TL.Mul(_tauHi, a), VUp), Eps)), bBig);
        if (_guard)
        {
            TV dLo = a, dHi = a;
            if (_kc > 0 && !TL.All(TL.LessThanOrEqual(a, _signOnly))) Distances(s, out dLo, out dHi);
            var g = TL.Mul(_gLo, dLo);
            quiet = TL.And(quiet, TL.And(TL.LessThan(bHi, g), TL.GreaterThanOrEqual(g, Tiny)));
            flag = TL.Or(flag, TL.And(TL.GreaterThan(bLo, TL.Add(TL.Mul(TL.Mul(_gHi, dHi), VUp), Eps)), bBig));
        }
        return TL.All(TL.Or(quiet, flag));
    }

    /// <summary>Float bounds d_lo &lt;= d &lt;= d_hi of the least distance from s to the kinks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Distances(TV s, out TV lo, out TV hi)
    {
        if (_oneError)
        {
            // T = least float distance |s - k_c| (each within 2^-24 of the exact one), E = the largest kink error:
            // the least exact distance d lies in [T (1 - 2^-24) - E, T / (1 - 2^-24) + E], which (T - E) Down and
            // (T + E) Up + 2^-149 enclose after their own roundings (E carries 2^-20 to spare). Three operations per
            // kink instead of nine.
            var t = TL.Abs(TL.Sub(s, _k0));
            if (_kc > 1) t = TL.Min(t, TL.Abs(TL.Sub(s, _k1)));
            if (_kc > 2) t = TL.Min(t, TL.Abs(TL.Sub(s, _k2)));
            if (_kc > 3) t = TL.Min(t, TL.Abs(TL.Sub(s, _k3)));
            if (_kc > 4) t = TL.Min(t, TL.Abs(TL.Sub(s, _k4)));
            lo = TL.Mul(TL.Sub(t, _eMax), VDown);
            hi = TL.Add(TL.Mul(TL.Add(t, _eMax), VUp), Eps);
            return;
        }
        lo = default; hi = default;
        One(s, _k0, _e0, ref lo, ref hi, true);
        if (_kc > 1) One(s, _k1, _e1, ref lo, ref hi, false);
        if (_kc > 2) One(s, _k2, _e2, ref lo, ref hi, false);
        if (_kc > 3) One(s, _k3, _e3, ref lo, ref hi, false);
        if (_kc > 4) One(s, _k4, _e4, ref lo, ref hi, false);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void One(TV s, TV k, TV e, ref TV lo, ref TV hi, bool first)
    {
        var t = TL.Abs(TL.Sub(s, k));
        var l = TL.Mul(TL.Sub(t, e), VDown);
        var h = TL.Add(TL.Mul(TL.Add(t, e), VUp), Eps);
        lo = first ? l : TL.Min(lo, l);
        hi = first ? h : TL.Min(hi, h);
    }
}
