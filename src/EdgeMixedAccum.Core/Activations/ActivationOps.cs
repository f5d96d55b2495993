using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Activations;

// The operator structs. Each formula is written once; see IActivationOp for the shared contract
// (NaN -> NaN, infinities -> limits, guarded 0/0) and docs/activations.md for the derivations.

/// <summary>phi(t) = t; phi' = 1; kappa = 1.</summary>
public readonly struct IdentityOp : IActivationOp
{
    public static ActivationKind Kind => ActivationKind.Identity;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Phi(double t, in ActivationParams p) => t;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Phi(float t, in ActivationParams p) => t;

    public static double Derivative(double t, in ActivationParams p) => double.IsNaN(t) ? t : 1.0;

    public static double Kappa(double t, in ActivationParams p) => double.IsNaN(t) ? t : 1.0;

    public static bool PhiSpan(ReadOnlySpan<float> s, Span<float> y, in ActivationParams p)
    {
        if (!s.Overlaps(y, out int off) || off != 0) s.CopyTo(y);
        return true;
    }

    /// <summary>1 lane by lane, NaN kept (Vector&lt;float&gt; steps, then the element form).</summary>
    public static bool KappaSpan(ReadOnlySpan<float> s, Span<float> kappa, in ActivationParams p)
    {
        for (int i = SpanLanes.Map(s, kappa, new KappaLanes()); i < s.Length; i++) kappa[i] = (float)Kappa(s[i], p);
        return true;
    }

    private readonly struct KappaLanes : ILaneMap
    {
        public Vector<float> Map(Vector<float> t) => Vector.ConditionalSelect(Vector.Equals(t, t), Vector<float>.One, t);
    }
}

/// <summary>phi(t) = max(t, 0); kappa = 1 for t &gt;= 0 (t = 0: the larger one-sided limit), 0 for t &lt; 0.</summary>
public readonly struct ReluOp : IActivationOp
{
    public static ActivationKind Kind => ActivationKind.Relu;

    // Math.Max propagates NaN and orders -0 below +0, so ReLU(-0) = +0.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Phi(double t, in ActivationParams p) => Math.Max(t, 0.0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Phi(float t, in ActivationParams p) => MathF.Max(t, 0f);

    public static double Derivative(double t, in ActivationParams p) => t >= 0 ? 1.0 : t < 0 ? 0.0 : t;

    public static double Kappa(double t, in ActivationParams p) => t >= 0 ? 1.0 : t < 0 ? 0.0 : t;

    /// <summary>Vector.Max is IEEE maximum like MathF.Max (NaN propagates, +0 above -0): same bits as the element form
    /// (one FMAX per 4 lanes on ARM64).</summary>
    public static bool PhiSpan(ReadOnlySpan<float> s, Span<float> y, in ActivationParams p)
    {
        for (int i = SpanLanes.Map(s, y, new PhiLanes()); i < s.Length; i++) y[i] = MathF.Max(s[i], 0f);
        return true;
    }

    public static bool KappaSpan(ReadOnlySpan<float> s, Span<float> kappa, in ActivationParams p)
    {
        for (int i = SpanLanes.Map(s, kappa, new LeakyReluOp.KappaLanes(Vector<float>.Zero)); i < s.Length; i++) kappa[i] = (float)Kappa(s[i], p);
        return true;
    }

    private readonly struct PhiLanes : ILaneMap
    {
        public Vector<float> Map(Vector<float> t) => Vector.Max(t, Vector<float>.Zero);
    }
}

/// <summary>
/// phi(t) = clamp(t, Min, Max) (ReLU6 = Clip(0, 6)); kappa = 1 on the closed interval [Min, Max]
/// (inside phi = t; at the bounds the larger one-sided limit), 0 outside (phi constant). A degenerate
/// Clip with Min = Max is constant: phi' = kappa = 0 everywhere.
/// </summary>
public readonly struct ClipOp : IActivationOp
{
    public static ActivationKind Kind => ActivationKind.Clip;

    // Written with comparisons (not Math.Clamp): NaN falls through unchanged.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Phi(double t, in ActivationParams p) => t < p.Min ? p.Min : t > p.Max ? p.Max : t;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Phi(float t, in ActivationParams p) => t < p.MinF ? p.MinF : t > p.MaxF ? p.MaxF : t;

    public static double Derivative(double t, in ActivationParams p) => Inside(t, p);

    public static double Kappa(double t, in ActivationParams p) => Inside(t, p);

    private static double Inside(double t, in ActivationParams p) =>
        double.IsNaN(t) ? t : (p.Min < p.Max && t >= p.Min && t <= p.Max) ? 1.0 : 0.0;

    /// <summary>The element forms' comparisons lane by lane (Min/Max are floats, so float and double compares agree).</summary>
    public static bool PhiSpan(ReadOnlySpan<float> s, Span<float> y, in ActivationParams p)
    {
        for (int i = SpanLanes.Map(s, y, new PhiLanes(p)); i < s.Length; i++) y[i] = Phi(s[i], p);
        return true;
    }

    public static bool KappaSpan(ReadOnlySpan<float> s, Span<float> kappa, in ActivationParams p)
    {
        for (int i = SpanLanes.Map(s, kappa, new KappaLanes(p)); i < s.Length; i++) kappa[i] = (float)Kappa(s[i], p);
        return true;
    }

    /// <summary>t &lt; Min: Min; t &gt; Max: Max; else t (NaN, -0 kept).</summary>
    internal readonly struct PhiLanes(in ActivationParams p) : ILaneMap
    {
        private readonly Vector<float> _lo = new(p.MinF), _hi = new(p.MaxF);
        public Vector<float> Map(Vector<float> t) => Clamp(t, _lo, _hi);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static Vector<float> Clamp(Vector<float> t, Vector<float> lo, Vector<float> hi) =>
            Vector.ConditionalSelect(Vector.LessThan(t, lo), lo, Vector.ConditionalSelect(Vector.GreaterThan(t, hi), hi, t));
    }

    private readonly struct KappaLanes(in ActivationParams p) : ILaneMap
    {
        private readonly Vector<float> _lo = new(p.MinF), _hi = new(p.MaxF), _one = p.MinF < p.MaxF ? Vector<float>.One : Vector<float>.Zero;
        public Vector<float> Map(Vector<float> t)
        {
            var inside = Vector.GreaterThanOrEqual(t, _lo) & Vector.LessThanOrEqual(t, _hi);
            return Vector.ConditionalSelect(Vector.Equals(t, t), Vector.ConditionalSelect(inside, _one, Vector<float>.Zero), t);
        }
    }
}

/// <summary>
/// phi(t) = t for t &gt;= 0, Alpha t otherwise; kappa = 1 on both sides (t = 0 included), except 0 for
/// t &lt; 0 when Alpha = 0 (then it is ReLU). phi'(0) = 1 (the right slope).
/// </summary>
public readonly struct LeakyReluOp : IActivationOp
{
    public static ActivationKind Kind => ActivationKind.LeakyRelu;

    // Alpha = 0 is tested so that Alpha * -inf does not give NaN.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Phi(double t, in ActivationParams p) => t < 0 ? (p.Alpha == 0 ? 0.0 : p.Alpha * t) : t;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Phi(float t, in ActivationParams p) => t < 0f ? (p.AlphaF == 0f ? 0f : p.AlphaF * t) : t;

    public static double Derivative(double t, in ActivationParams p) => t >= 0 ? 1.0 : t < 0 ? p.Alpha : t;

    public static double Kappa(double t, in ActivationParams p) =>
        t >= 0 ? 1.0 : t < 0 ? (p.Alpha != 0 ? 1.0 : 0.0) : t;

    /// <summary>The element form lane by lane: Alpha * t below zero (0 when Alpha = 0), t otherwise (NaN, -0 kept).</summary>
    public static bool PhiSpan(ReadOnlySpan<float> s, Span<float> y, in ActivationParams p)
    {
        int i = p.AlphaF == 0f ? SpanLanes.Map(s, y, new ZeroBelowLanes()) : SpanLanes.Map(s, y, new PhiLanes(p));
        for (; i < s.Length; i++) y[i] = Phi(s[i], p);
        return true;
    }

    public static bool KappaSpan(ReadOnlySpan<float> s, Span<float> kappa, in ActivationParams p)
    {
        for (int i = SpanLanes.Map(s, kappa, new KappaLanes(p.Alpha != 0 ? Vector<float>.One : Vector<float>.Zero)); i < s.Length; i++)
            kappa[i] = (float)Kappa(s[i], p);
        return true;
    }

    /// <summary>Alpha * t below zero, else t (Alpha != 0; <see cref="ZeroBelowLanes"/> for 0, as Alpha * -inf is NaN).</summary>
    internal readonly struct PhiLanes(in ActivationParams p) : ILaneMap
    {
        private readonly Vector<float> _a = new(p.AlphaF);
        public Vector<float> Map(Vector<float> t) => Vector.ConditionalSelect(Vector.LessThan(t, Vector<float>.Zero), _a * t, t);
    }

    /// <summary>Alpha = 0: +0 below zero, else t (-0 and NaN kept, as the element form; not ReLU's Max, which maps -0 to +0).</summary>
    internal readonly struct ZeroBelowLanes : ILaneMap
    {
        public Vector<float> Map(Vector<float> t) => Vector.ConditionalSelect(Vector.LessThan(t, Vector<float>.Zero), Vector<float>.Zero, t);
    }

    /// <summary>1 for t &gt;= 0, <c>below</c> for t &lt; 0 (1 or 0), NaN kept (ReLU's with below = 0).</summary>
    internal readonly struct KappaLanes(Vector<float> below) : ILaneMap
    {
        public Vector<float> Map(Vector<float> t) =>
            Vector.ConditionalSelect(Vector.GreaterThanOrEqual(t, Vector<float>.Zero), Vector<float>.One,
                Vector.ConditionalSelect(Vector.LessThan(t, Vector<float>.Zero), below, t));
    }
}

/// <summary>
/// phi(t) = clamp(LeakyRelu(t), Min, Max): tf2onnx's LeakyReLU followed by Max/Min with constants, one
/// activation so Algorithm 1 sees the whole phi. Where the LeakyReLU value lies in the closed range [Min, Max]
/// phi' and kappa are LeakyReLU's; outside it phi is constant, so phi' = kappa = 0 (Min = Max: constant
/// everywhere). The float form is LeakyReLU's float result clamped, so its bits are those of the two ONNX ops.
/// </summary>
public readonly struct LeakyReluClipOp : IActivationOp
{
    public static ActivationKind Kind => ActivationKind.LeakyReluClip;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Phi(double t, in ActivationParams p) => ClipOp.Phi(LeakyReluOp.Phi(t, p), p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Phi(float t, in ActivationParams p) => ClipOp.Phi(LeakyReluOp.Phi(t, p), p);

    public static double Derivative(double t, in ActivationParams p) =>
        double.IsNaN(t) ? t : Inside(t, p) ? LeakyReluOp.Derivative(t, p) : 0.0;

    public static double Kappa(double t, in ActivationParams p) =>
        double.IsNaN(t) ? t : Inside(t, p) ? LeakyReluOp.Kappa(t, p) : 0.0;

    /// <summary>Whether the LeakyReLU value of t lies in the closed, non-degenerate range [Min, Max].</summary>
    private static bool Inside(double t, in ActivationParams p)
    {
        double v = LeakyReluOp.Phi(t, p);
        return p.Min < p.Max && v >= p.Min && v <= p.Max;
    }

    /// <summary>LeakyReLU's lanes, then Clip's on the same register: the element form's two steps (NaN, -0 kept) in
    /// one pass over the output (two passes cost a second read and write of every element).</summary>
    public static bool PhiSpan(ReadOnlySpan<float> s, Span<float> y, in ActivationParams p)
    {
        int i = p.AlphaF == 0f ? SpanLanes.Map(s, y, new PhiLanes<LeakyReluOp.ZeroBelowLanes>(new(), p))
            : SpanLanes.Map(s, y, new PhiLanes<LeakyReluOp.PhiLanes>(new(p), p));
        for (; i < s.Length; i++) y[i] = Phi(s[i], p);
        return true;
    }

    /// <summary>The LeakyReLU lanes (<typeparamref name="TLeaky"/>: Alpha != 0, or 0), then Clip's on the same register.</summary>
    private readonly struct PhiLanes<TLeaky>(TLeaky leaky, in ActivationParams p) : ILaneMap where TLeaky : struct, ILaneMap
    {
        private readonly TLeaky _leaky = leaky;
        private readonly Vector<float> _lo = new(p.MinF), _hi = new(p.MaxF);
        public Vector<float> Map(Vector<float> t) => ClipOp.PhiLanes.Clamp(_leaky.Map(t), _lo, _hi);
    }

    /// <summary>LeakyReLU's kappa lanes where the LeakyReLU value is inside [Min, Max], else 0. The element form
    /// tests the exact (double) product Alpha * t; rounding is monotone and the bounds are floats, so the float
    /// product compares with a bound as the exact one does unless it equals the bound: a block holding such a
    /// lane takes the element form.</summary>
    public static bool KappaSpan(ReadOnlySpan<float> s, Span<float> kappa, in ActivationParams p)
    {
        int i = 0, n = s.Length;
        if (kappa.Length < n) throw new ArgumentException("LeakyReluClip: kappa is shorter than s");
        if (Vector.IsHardwareAccelerated)
        {
            var a = new Vector<float>(p.AlphaF);
            var lo = new Vector<float>(p.MinF); var hi = new Vector<float>(p.MaxF);
            var below = p.Alpha != 0 ? Vector<float>.One : Vector<float>.Zero;
            var one = p.MinF < p.MaxF ? Vector<float>.One : Vector<float>.Zero;
            ref float sr = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(s);
            ref float kr = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(kappa);
            for (; i + Vector<float>.Count <= n; i += Vector<float>.Count)
            {
                var t = Vector.LoadUnsafe(ref sr, (nuint)i);
                var v = Vector.ConditionalSelect(Vector.LessThan(t, Vector<float>.Zero), a * t, t);
                // A float product on a bound may be a double product just outside it (or the reverse): element form.
                // One any-test of both comparisons (on NEON each any-test is a reduction).
                if (Vector.EqualsAny(Vector.Equals(v, lo) | Vector.Equals(v, hi), Vector<int>.AllBitsSet))
                {
                    for (int l = 0; l < Vector<float>.Count; l++) kappa[i + l] = (float)Kappa(s[i + l], p);
                    continue;
                }
                var inside = Vector.GreaterThan(v, lo) & Vector.LessThan(v, hi);
                var k = Vector.ConditionalSelect(Vector.LessThan(t, Vector<float>.Zero), below, Vector<float>.One) & one;
                k = Vector.ConditionalSelect(inside, k, Vector<float>.Zero);
                Vector.ConditionalSelect(Vector.Equals(t, t), k, t).StoreUnsafe(ref kr, (nuint)i);
            }
        }
        for (; i < n; i++) kappa[i] = (float)Kappa(s[i], p);
        return true;
    }
}

/// <summary>phi = tanh; phi' = sech^2; kappa = 2|t| / sinh(2|t|) (&lt;= 1, 1 at t = 0, 0 at ±inf).</summary>
public readonly struct TanhOp : IActivationOp
{
    public static ActivationKind Kind => ActivationKind.Tanh;

    public static double Phi(double t, in ActivationParams p) => Math.Tanh(t);

    public static float Phi(float t, in ActivationParams p) => MathF.Tanh(t);

    /// <summary>sech^2 t = 4e/(1+e)^2 with e = exp(-2|t|): full relative accuracy in the tails (1 - tanh^2 would cancel).</summary>
    public static double Derivative(double t, in ActivationParams p)
    {
        double e = Math.Exp(-2.0 * Math.Abs(t));
        double d = 1.0 + e;
        return 4.0 * e / (d * d);
    }

    public static double Kappa(double t, in ActivationParams p)
    {
        double a = Math.Abs(t);
        if (a == 0)
            return 1.0; // limit of 2a / sinh 2a
        if (a < 0.5)
            return 2.0 * a / Math.Sinh(2.0 * a);
        if (double.IsPositiveInfinity(a))
            return 0.0;
        // 2a / sinh 2a = 4a e / (1 - e^2), e = exp(-2a): no overflow of sinh for large a.
        double e = Math.Exp(-2.0 * a); // NaN -> NaN
        return 4.0 * (a * e) / ((1.0 - e) * (1.0 + e)); // a * e first: 4a overflows for a near MaxValue
    }

    /// <summary>Vectorised tanh over a float span, in double lanes (<see cref="TanhVector"/>).</summary>
    public static bool PhiSpan(ReadOnlySpan<float> s, Span<float> y, in ActivationParams p)
    {
        TanhVector.Tanh(s, y);
        return true;
    }

    public static bool KappaSpan(ReadOnlySpan<float> s, Span<float> kappa, in ActivationParams p)
    {
        TanhVector.Kappa(s, kappa);
        return true;
    }

    public static bool PhiAndKappaSpan(ReadOnlySpan<float> s, Span<float> y, Span<float> kappa, in ActivationParams p)
    {
        TanhVector.TanhAndKappa(s, y, kappa);
        return true;
    }
}

/// <summary>phi = sigma(t) = 1/(1 + e^-t); phi' = sigma(t) sigma(-t); kappa = |t| sigma(-t) (0 at t = 0 and +inf, ~|t| for t -&gt; -inf).</summary>
public readonly struct SigmoidOp : IActivationOp
{
    public static ActivationKind Kind => ActivationKind.Sigmoid;

    /// <summary>sigma(t) without overflow and with full relative accuracy on both sides (so 1 - sigma(t) = Sigma(-t)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static double Sigma(double t)
    {
        if (t >= 0)
            return 1.0 / (1.0 + Math.Exp(-t));
        double e = Math.Exp(t); // NaN -> NaN
        return e / (1.0 + e);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Sigma(float t)
    {
        if (t >= 0f)
            return 1f / (1f + MathF.Exp(-t));
        float e = MathF.Exp(t);
        return e / (1f + e);
    }

    public static double Phi(double t, in ActivationParams p) => Sigma(t);

    public static float Phi(float t, in ActivationParams p) => Sigma(t);

    public static double Derivative(double t, in ActivationParams p) => Sigma(t) * Sigma(-t);

    public static double Kappa(double t, in ActivationParams p) =>
        double.IsPositiveInfinity(t) ? 0.0 : Math.Abs(t) * Sigma(-t);
}

/// <summary>
/// SiLU / swish: phi = t sigma(t); phi' = sigma(t) (1 + t sigma(-t)); kappa = |1 + t sigma(-t)|
/// (1 at t = 0 and +inf; 0 at the minimum t = -1.2785; ~|t| for t -&gt; -inf).
/// </summary>
public readonly struct SiluOp : IActivationOp
{
    public static ActivationKind Kind => ActivationKind.Silu;

    public static double Phi(double t, in ActivationParams p) =>
        double.IsNegativeInfinity(t) ? -0.0 : t * SigmoidOp.Sigma(t);

    /// <summary>Evaluated in double and rounded once: in float, e^t is subnormal below t = -87 and t * e^t
    /// would carry that subnormal's large relative error.</summary>
    public static float Phi(float t, in ActivationParams p) => (float)Phi((double)t, p);

    public static double Derivative(double t, in ActivationParams p)
    {
        if (double.IsInfinity(t))
            return t > 0 ? 1.0 : 0.0;
        return SigmoidOp.Sigma(t) * (1.0 + t * SigmoidOp.Sigma(-t));
    }

    public static double Kappa(double t, in ActivationParams p) =>
        double.IsPositiveInfinity(t) ? 1.0 : Math.Abs(1.0 + t * SigmoidOp.Sigma(-t));
}

/// <summary>
/// GELU, exact erf form: phi = t Phi_N(t); phi' = Phi_N(t) + t pdf(t); kappa = |1 + t pdf(t)/Phi_N(t)|
/// (1 at t = 0 and +inf; 0 at the minimum t = -0.7518; ~t^2 for t -&gt; -inf), with pdf/Phi_N taken as
/// the inverse Mills ratio sqrt(2/pi)/erfcx(-t/sqrt 2) so that it never underflows.
/// </summary>
public readonly struct GeluOp : IActivationOp
{
    public static ActivationKind Kind => ActivationKind.Gelu;

    private const double SqrtHalfPi = 1.2533141373155002512;
    private const double InvSqrt2 = 0.70710678118654752440;

    public static double Phi(double t, in ActivationParams p) =>
        double.IsNegativeInfinity(t) ? -0.0 : t * SpecialFunctions.NormalCdf(t);

    /// <summary>Evaluated in double (there is no float erf worth having) and rounded once.</summary>
    public static float Phi(float t, in ActivationParams p) => (float)Phi((double)t, p);

    public static double Derivative(double t, in ActivationParams p)
    {
        if (t > 40.0)
            return 1.0; // Phi_N = 1 and t pdf(t) < 1e-340; covers +inf
        if (t >= -1.0)
            return SpecialFunctions.NormalCdf(t) + t * SpecialFunctions.NormalPdf(t);
        if (t < -40.0)
            return -0.0; // |phi'| ~ t^2 Phi_N(t) underflows; covers -inf
        // pdf(t) (Phi_N(t)/pdf(t) + t), with Phi_N/pdf = sqrt(pi/2) erfcx(-t/sqrt 2): no underflow of Phi_N,
        // no cancellation (the sum is ~ t for t -> -inf). NaN -> NaN.
        return SpecialFunctions.NormalPdf(t) * (SqrtHalfPi * SpecialFunctions.Erfcx(-t * InvSqrt2) + t);
    }

    public static double Kappa(double t, in ActivationParams p)
    {
        if (t > 40.0)
            return 1.0; // t pdf/Phi_N < 1e-340; avoids inf * 0 at +inf
        return Math.Abs(1.0 + t * SpecialFunctions.NormalPdfOverCdf(t)); // -inf -> +inf, NaN -> NaN
    }
}
