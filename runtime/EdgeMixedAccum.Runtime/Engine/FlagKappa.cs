using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeMixedAccum.Activations;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Runtime.Engine;

/// <summary>
/// Where the vector flag test (<see cref="FlagTest"/>) gets each component's kappa_phi(s_hat): float lanes
/// kLo &lt;= kappa &lt;= kHi for its float screen (kHi in the "not flagged" claims, kLo in "flagged"), and kappa itself
/// (the float <see cref="ActivationMath.Kappa(Activation, in ActivationParams, ReadOnlySpan{float}, Span{float})"/>
/// gives) for the blocks the screen leaves undecided. The piecewise-linear activations have one struct each shape
/// (<see cref="FlagKappaKind"/>), so identity and ReLU pay one operation or none. Implementations are ref structs over the caller's spans.
/// Contract: Range and Exact are called with i + lanes &lt;= Length, on finite s.
/// </summary>
internal interface IFlagKappa
{
    int Length { get; }
    void Range(int i, Vector512<float> s, out Vector512<float> lo, out Vector512<float> hi);
    void Range(int i, Vector256<float> s, out Vector256<float> lo, out Vector256<float> hi);
    void Range(int i, Vector128<float> s, out Vector128<float> lo, out Vector128<float> hi);
    /// <summary>kappa of components [i, i + count).</summary>
    ReadOnlySpan<float> Exact(int i, int count);
}

/// <summary>kappa already computed (Dense units, traced rows, and the activations <see cref="FlagKappaKind.Row"/> names): lo = hi = kappa.</summary>
internal readonly ref struct SpanKappa(ReadOnlySpan<float> kappa) : IFlagKappa
{
    private readonly ReadOnlySpan<float> _k = kappa;
    public int Length => _k.Length;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Range(int i, Vector512<float> s, out Vector512<float> lo, out Vector512<float> hi) =>
        lo = hi = Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(_k), (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Range(int i, Vector256<float> s, out Vector256<float> lo, out Vector256<float> hi) =>
        lo = hi = Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(_k), (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Range(int i, Vector128<float> s, out Vector128<float> lo, out Vector128<float> hi) =>
        lo = hi = Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(_k), (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<float> Exact(int i, int count) => _k.Slice(i, count);
}

/// <summary>How an untraced int8 conv row's flag test gets kappa (<see cref="Of"/>): the computed row, or in the
/// loop's registers from s_hat for the piecewise-linear activations.</summary>
internal enum FlagKappaKind
{
    /// <summary>A kappa row computed first (<see cref="SpanKappa"/>): tanh, sigmoid, GELU, SiLU.</summary>
    Row,
    /// <summary>kappa = 1 (<see cref="UnitKappa"/>): identity, LeakyReLU with alpha != 0.</summary>
    Unit,
    /// <summary>kappa = 1 for t &gt;= 0, else 0 (<see cref="SignKappa"/>): ReLU, LeakyReLU with alpha = 0.</summary>
    Sign,
    /// <summary>A clamped LeakyReLU (<see cref="ClampKappa"/>): Clip, LeakyReLU+clamp.</summary>
    Clamp,
}

internal static class FlagKappa
{
    public static FlagKappaKind Of(in Activation a) => a.Kind switch
    {
        ActivationKind.Identity => FlagKappaKind.Unit,
        ActivationKind.LeakyRelu => a.Alpha != 0 ? FlagKappaKind.Unit : FlagKappaKind.Sign,
        ActivationKind.Relu => FlagKappaKind.Sign,
        ActivationKind.Clip or ActivationKind.LeakyReluClip => FlagKappaKind.Clamp,
        _ => FlagKappaKind.Row,
    };
}

/// <summary>kappa_phi = 1 for every finite t (identity; LeakyReLU with alpha != 0, both sides): no operation.</summary>
internal readonly ref struct UnitKappa(Span<float> kappa) : IFlagKappa
{
    private readonly Span<float> _kappa = kappa;
    public int Length => _kappa.Length;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Range(int i, Vector512<float> s, out Vector512<float> lo, out Vector512<float> hi) => lo = hi = Vector512<float>.One;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Range(int i, Vector256<float> s, out Vector256<float> lo, out Vector256<float> hi) => lo = hi = Vector256<float>.One;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Range(int i, Vector128<float> s, out Vector128<float> lo, out Vector128<float> hi) => lo = hi = Vector128<float>.One;

    /// <summary>kappa of [i, i + count) (finite s: 1) into the caller's kappa row at i.</summary>
    public ReadOnlySpan<float> Exact(int i, int count)
    {
        var k = _kappa.Slice(i, count);
        k.Fill(1f);
        return k;
    }
}

/// <summary>kappa_phi = 1 for t &gt;= 0 (-0 included: the larger one-sided limit at the kink), 0 for t &lt; 0 (ReLU;
/// LeakyReLU with alpha = 0): one comparison.</summary>
internal readonly ref struct SignKappa(ReadOnlySpan<float> s, Span<float> kappa) : IFlagKappa
{
    private readonly ReadOnlySpan<float> _s = s;
    private readonly Span<float> _kappa = kappa;
    public int Length => _s.Length;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Range(int i, Vector512<float> s, out Vector512<float> lo, out Vector512<float> hi) =>
        lo = hi = Vector512.GreaterThanOrEqual(s, Vector512<float>.Zero) & Vector512<float>.One;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Range(int i, Vector256<float> s, out Vector256<float> lo, out Vector256<float> hi) =>
        lo = hi = Vector256.GreaterThanOrEqual(s, Vector256<float>.Zero) & Vector256<float>.One;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Range(int i, Vector128<float> s, out Vector128<float> lo, out Vector128<float> hi) =>
        lo = hi = Vector128.GreaterThanOrEqual(s, Vector128<float>.Zero) & Vector128<float>.One;

    /// <summary>kappa of [i, i + count) (finite s) into the caller's kappa row at i.</summary>
    public ReadOnlySpan<float> Exact(int i, int count)
    {
        var k = _kappa.Slice(i, count);
        for (int j = 0; j < count; j++) k[j] = _s[i + j] >= 0 ? 1f : 0f;
        return k;
    }
}

/// <summary>
/// kappa_phi of a clamped LeakyReLU, clamp(LeakyReLU_alpha(t), Min, Max) (Clip: alpha = 1), enclosed in the flag
/// test's registers from s_hat: kappa is LeakyReLU's (1, or 0 for t &lt; 0 when alpha = 0) where the LeakyReLU value
/// v lies in the closed, non-degenerate [Min, Max] and 0 outside. The float product alpha t rounds monotonically
/// and Min, Max are floats, so a float v strictly inside (outside) has an exact value strictly inside (outside):
/// kappa is then known (lo = hi); a float v equal to a bound leaves kappa in {0, LeakyReLU's}, enclosed as
/// [0, LeakyReLU's]. <see cref="Exact"/> computes kappa itself
/// (<see cref="ActivationMath.Kappa(Activation, in ActivationParams, ReadOnlySpan{float}, Span{float})"/>, the
/// bits of the kappa pass it replaces) into the caller's row for the blocks the screen cannot decide.
/// </summary>
internal readonly ref struct ClampKappa : IFlagKappa
{
    private readonly ReadOnlySpan<float> _s;
    private readonly Span<float> _kappa;
    private readonly Activation _act;
    private readonly ActivationParams _p;
    private readonly float _alpha, _min, _max, _below, _one;
    private readonly Vector128<float> _alpha4, _min4, _max4, _below4, _one4; // NEON's loop: one load each, no DUP

    /// <param name="a">Clip or LeakyReluClip (<see cref="FlagKappaKind.Clamp"/>).</param>
    /// <param name="s">The components' s_hat.</param>
    /// <param name="kappa">The row's kappa scratch (at least s.Length): <see cref="Exact"/> writes there.</param>
    public ClampKappa(scoped in Activation a, scoped in ActivationParams p, ReadOnlySpan<float> s, Span<float> kappa)
    {
        if (FlagKappa.Of(a) != FlagKappaKind.Clamp) throw new ArgumentException($"ClampKappa: {a} is no clamp");
        if (kappa.Length < s.Length) throw new ArgumentException("ClampKappa: kappa is shorter than s");
        _s = s; _kappa = kappa; _act = a; _p = p;
        _alpha = a.Kind == ActivationKind.Clip ? 1f : p.AlphaF;
        _min = p.MinF; _max = p.MaxF;
        _below = _alpha != 0 ? 1f : 0f;             // LeakyReLU's kappa for t < 0
        _one = _min < _max ? 1f : 0f;               // a degenerate clamp is constant: kappa 0
        _alpha4 = Vector128.Create(_alpha); _min4 = Vector128.Create(_min); _max4 = Vector128.Create(_max);
        _below4 = Vector128.Create(_below); _one4 = Vector128.Create(_one);
    }

    public int Length => _s.Length;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Range(int i, Vector512<float> s, out Vector512<float> lo, out Vector512<float> hi)
    {
        var neg = Vector512.LessThan(s, Vector512<float>.Zero);
        var v = Vector512.ConditionalSelect(neg, Vector512.Create(_alpha) * s, s);
        var k = Vector512.ConditionalSelect(neg, Vector512.Create(_below), Vector512.Create(_one)) & Vector512.Create(_one);
        var min = Vector512.Create(_min); var max = Vector512.Create(_max);
        lo = Vector512.GreaterThan(v, min) & Vector512.LessThan(v, max) & k;
        hi = Vector512.AndNot(k, Vector512.LessThan(v, min) | Vector512.GreaterThan(v, max));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Range(int i, Vector256<float> s, out Vector256<float> lo, out Vector256<float> hi)
    {
        var neg = Vector256.LessThan(s, Vector256<float>.Zero);
        var v = Vector256.ConditionalSelect(neg, Vector256.Create(_alpha) * s, s);
        var k = Vector256.ConditionalSelect(neg, Vector256.Create(_below), Vector256.Create(_one)) & Vector256.Create(_one);
        var min = Vector256.Create(_min); var max = Vector256.Create(_max);
        lo = Vector256.GreaterThan(v, min) & Vector256.LessThan(v, max) & k;
        hi = Vector256.AndNot(k, Vector256.LessThan(v, min) | Vector256.GreaterThan(v, max));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Range(int i, Vector128<float> s, out Vector128<float> lo, out Vector128<float> hi)
    {
        var neg = Vector128.LessThan(s, Vector128<float>.Zero);
        var v = Vector128.ConditionalSelect(neg, _alpha4 * s, s);
        var k = Vector128.ConditionalSelect(neg, _below4, _one4) & _one4;
        lo = Vector128.GreaterThan(v, _min4) & Vector128.LessThan(v, _max4) & k;
        hi = Vector128.AndNot(k, Vector128.LessThan(v, _min4) | Vector128.GreaterThan(v, _max4));
    }

    /// <summary>kappa of [i, i + count) into the caller's kappa row at i.</summary>
    public ReadOnlySpan<float> Exact(int i, int count)
    {
        var k = _kappa.Slice(i, count);
        ActivationMath.Kappa(_act, in _p, _s.Slice(i, count), k);
        return k;
    }
}
