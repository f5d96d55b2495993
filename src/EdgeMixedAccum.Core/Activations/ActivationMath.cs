using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Activations;

/// <summary>
/// Activations phi, their derivatives and componentwise condition numbers
/// kappa_phi(t) = |t phi'(t) / phi(t)| (see docs/activations.md).
/// </summary>
/// <remarks>
/// <para>The generic loops (<see cref="Apply{TOp}(ReadOnlySpan{float}, Span{float}, in ActivationParams)"/>,
/// <see cref="Kappa{TOp}(ReadOnlySpan{float}, Span{float}, in ActivationParams)"/> and their double
/// twins) are the only element loops; the non-generic overloads taking an <see cref="Activation"/>
/// validate its parameters and switch on its kind once per span, then run the specialised loop.</para>
/// <para>Span rules (as System.Numerics.Tensors.TensorPrimitives): the destination must be at least as
/// long as the source (only the first source-length elements are written); source and destination
/// may be the very same memory (in place) but must not otherwise overlap. Nothing allocates.</para>
/// <para>Kappa into a float span is computed in double and rounded; values beyond float range become
/// +inf (e.g. GELU below t ~ -1.8e19).</para>
/// </remarks>
public static class ActivationMath
{
    // ---- generic loops -------------------------------------------------------------------------

    /// <summary>y[i] = phi(s[i]) in float for every i &lt; s.Length.</summary>
    public static void Apply<TOp>(ReadOnlySpan<float> s, Span<float> y, in ActivationParams p)
        where TOp : struct, IActivationOp
    {
        CheckSpans(s, y);
        ref float src = ref MemoryMarshal.GetReference(s);
        ref float dst = ref MemoryMarshal.GetReference(y);
        nuint n = (nuint)s.Length;
        for (nuint i = 0; i < n; i++)
            Unsafe.Add(ref dst, i) = TOp.Phi(Unsafe.Add(ref src, i), in p);
    }

    /// <summary>y[i] = phi(s[i]) in double for every i &lt; s.Length.</summary>
    public static void Apply<TOp>(ReadOnlySpan<double> s, Span<double> y, in ActivationParams p)
        where TOp : struct, IActivationOp
    {
        CheckSpans(s, y);
        ref double src = ref MemoryMarshal.GetReference(s);
        ref double dst = ref MemoryMarshal.GetReference(y);
        nuint n = (nuint)s.Length;
        for (nuint i = 0; i < n; i++)
            Unsafe.Add(ref dst, i) = TOp.Phi(Unsafe.Add(ref src, i), in p);
    }

    /// <summary>kappa[i] = kappa_phi(s[i]), evaluated in double and rounded to float.</summary>
    public static void Kappa<TOp>(ReadOnlySpan<float> s, Span<float> kappa, in ActivationParams p)
        where TOp : struct, IActivationOp
    {
        CheckSpans(s, kappa);
        ref float src = ref MemoryMarshal.GetReference(s);
        ref float dst = ref MemoryMarshal.GetReference(kappa);
        nuint n = (nuint)s.Length;
        for (nuint i = 0; i < n; i++)
            Unsafe.Add(ref dst, i) = (float)TOp.Kappa(Unsafe.Add(ref src, i), in p);
    }

    /// <summary>kappa[i] = kappa_phi(s[i]) in double.</summary>
    public static void Kappa<TOp>(ReadOnlySpan<double> s, Span<double> kappa, in ActivationParams p)
        where TOp : struct, IActivationOp
    {
        CheckSpans(s, kappa);
        ref double src = ref MemoryMarshal.GetReference(s);
        ref double dst = ref MemoryMarshal.GetReference(kappa);
        nuint n = (nuint)s.Length;
        for (nuint i = 0; i < n; i++)
            Unsafe.Add(ref dst, i) = TOp.Kappa(Unsafe.Add(ref src, i), in p);
    }

    // ---- span entry points: one switch per span ------------------------------------------------

    /// <summary>y[i] = phi(s[i]) in float. Throws <see cref="EmaException"/> for invalid parameters or an unknown kind.</summary>
    public static void Apply(Activation a, ReadOnlySpan<float> s, Span<float> y)
    {
        var p = ActivationParams.From(a);
        switch (a.Kind)
        {
            case ActivationKind.Identity: Apply<IdentityOp>(s, y, p); break;
            case ActivationKind.Relu: Apply<ReluOp>(s, y, p); break;
            case ActivationKind.Clip: Apply<ClipOp>(s, y, p); break;
            case ActivationKind.LeakyRelu: Apply<LeakyReluOp>(s, y, p); break;
            case ActivationKind.Tanh: Apply<TanhOp>(s, y, p); break;
            case ActivationKind.Sigmoid: Apply<SigmoidOp>(s, y, p); break;
            case ActivationKind.Gelu: Apply<GeluOp>(s, y, p); break;
            case ActivationKind.Silu: Apply<SiluOp>(s, y, p); break;
            default: throw UnknownKind(a.Kind);
        }
    }

    /// <summary>y[i] = phi(s[i]) in double.</summary>
    public static void Apply(Activation a, ReadOnlySpan<double> s, Span<double> y)
    {
        var p = ActivationParams.From(a);
        switch (a.Kind)
        {
            case ActivationKind.Identity: Apply<IdentityOp>(s, y, p); break;
            case ActivationKind.Relu: Apply<ReluOp>(s, y, p); break;
            case ActivationKind.Clip: Apply<ClipOp>(s, y, p); break;
            case ActivationKind.LeakyRelu: Apply<LeakyReluOp>(s, y, p); break;
            case ActivationKind.Tanh: Apply<TanhOp>(s, y, p); break;
            case ActivationKind.Sigmoid: Apply<SigmoidOp>(s, y, p); break;
            case ActivationKind.Gelu: Apply<GeluOp>(s, y, p); break;
            case ActivationKind.Silu: Apply<SiluOp>(s, y, p); break;
            default: throw UnknownKind(a.Kind);
        }
    }

    /// <summary>kappa[i] = kappa_phi(s[i]) (computed in double, rounded to float).</summary>
    public static void Kappa(Activation a, ReadOnlySpan<float> s, Span<float> kappa)
    {
        var p = ActivationParams.From(a);
        switch (a.Kind)
        {
            case ActivationKind.Identity: Kappa<IdentityOp>(s, kappa, p); break;
            case ActivationKind.Relu: Kappa<ReluOp>(s, kappa, p); break;
            case ActivationKind.Clip: Kappa<ClipOp>(s, kappa, p); break;
            case ActivationKind.LeakyRelu: Kappa<LeakyReluOp>(s, kappa, p); break;
            case ActivationKind.Tanh: Kappa<TanhOp>(s, kappa, p); break;
            case ActivationKind.Sigmoid: Kappa<SigmoidOp>(s, kappa, p); break;
            case ActivationKind.Gelu: Kappa<GeluOp>(s, kappa, p); break;
            case ActivationKind.Silu: Kappa<SiluOp>(s, kappa, p); break;
            default: throw UnknownKind(a.Kind);
        }
    }

    /// <summary>kappa[i] = kappa_phi(s[i]) in double.</summary>
    public static void Kappa(Activation a, ReadOnlySpan<double> s, Span<double> kappa)
    {
        var p = ActivationParams.From(a);
        switch (a.Kind)
        {
            case ActivationKind.Identity: Kappa<IdentityOp>(s, kappa, p); break;
            case ActivationKind.Relu: Kappa<ReluOp>(s, kappa, p); break;
            case ActivationKind.Clip: Kappa<ClipOp>(s, kappa, p); break;
            case ActivationKind.LeakyRelu: Kappa<LeakyReluOp>(s, kappa, p); break;
            case ActivationKind.Tanh: Kappa<TanhOp>(s, kappa, p); break;
            case ActivationKind.Sigmoid: Kappa<SigmoidOp>(s, kappa, p); break;
            case ActivationKind.Gelu: Kappa<GeluOp>(s, kappa, p); break;
            case ActivationKind.Silu: Kappa<SiluOp>(s, kappa, p); break;
            default: throw UnknownKind(a.Kind);
        }
    }

    // ---- scalar entry points -------------------------------------------------------------------

    /// <summary>phi(t) in double.</summary>
    public static double Phi(Activation a, double t)
    {
        var p = ActivationParams.From(a);
        return a.Kind switch
        {
            ActivationKind.Identity => IdentityOp.Phi(t, p),
            ActivationKind.Relu => ReluOp.Phi(t, p),
            ActivationKind.Clip => ClipOp.Phi(t, p),
            ActivationKind.LeakyRelu => LeakyReluOp.Phi(t, p),
            ActivationKind.Tanh => TanhOp.Phi(t, p),
            ActivationKind.Sigmoid => SigmoidOp.Phi(t, p),
            ActivationKind.Gelu => GeluOp.Phi(t, p),
            ActivationKind.Silu => SiluOp.Phi(t, p),
            _ => throw UnknownKind(a.Kind),
        };
    }

    /// <summary>phi(t) in float (the hot-path formula; within a few float ulps of the double one).</summary>
    public static float Phi(Activation a, float t)
    {
        var p = ActivationParams.From(a);
        return a.Kind switch
        {
            ActivationKind.Identity => IdentityOp.Phi(t, p),
            ActivationKind.Relu => ReluOp.Phi(t, p),
            ActivationKind.Clip => ClipOp.Phi(t, p),
            ActivationKind.LeakyRelu => LeakyReluOp.Phi(t, p),
            ActivationKind.Tanh => TanhOp.Phi(t, p),
            ActivationKind.Sigmoid => SigmoidOp.Phi(t, p),
            ActivationKind.Gelu => GeluOp.Phi(t, p),
            ActivationKind.Silu => SiluOp.Phi(t, p),
            _ => throw UnknownKind(a.Kind),
        };
    }

    /// <summary>phi'(t) in double (at kinks: the slope of the closed inner piece, 1).</summary>
    public static double Derivative(Activation a, double t)
    {
        var p = ActivationParams.From(a);
        return a.Kind switch
        {
            ActivationKind.Identity => IdentityOp.Derivative(t, p),
            ActivationKind.Relu => ReluOp.Derivative(t, p),
            ActivationKind.Clip => ClipOp.Derivative(t, p),
            ActivationKind.LeakyRelu => LeakyReluOp.Derivative(t, p),
            ActivationKind.Tanh => TanhOp.Derivative(t, p),
            ActivationKind.Sigmoid => SigmoidOp.Derivative(t, p),
            ActivationKind.Gelu => GeluOp.Derivative(t, p),
            ActivationKind.Silu => SiluOp.Derivative(t, p),
            _ => throw UnknownKind(a.Kind),
        };
    }

    /// <summary>kappa_phi(t) = |t phi'(t) / phi(t)| in double, guarded (limits at t = 0 and at kinks, ±inf).</summary>
    public static double Kappa(Activation a, double t)
    {
        var p = ActivationParams.From(a);
        return a.Kind switch
        {
            ActivationKind.Identity => IdentityOp.Kappa(t, p),
            ActivationKind.Relu => ReluOp.Kappa(t, p),
            ActivationKind.Clip => ClipOp.Kappa(t, p),
            ActivationKind.LeakyRelu => LeakyReluOp.Kappa(t, p),
            ActivationKind.Tanh => TanhOp.Kappa(t, p),
            ActivationKind.Sigmoid => SigmoidOp.Kappa(t, p),
            ActivationKind.Gelu => GeluOp.Kappa(t, p),
            ActivationKind.Silu => SiluOp.Kappa(t, p),
            _ => throw UnknownKind(a.Kind),
        };
    }

    // ---- helpers -------------------------------------------------------------------------------

    private static void CheckSpans<T>(ReadOnlySpan<T> s, Span<T> y)
    {
        if (y.Length < s.Length)
            ThrowTooShort();
        if (s.Overlaps(y, out int offset) && offset != 0)
            ThrowOverlap();
    }

    private static void ThrowTooShort() =>
        throw new ArgumentException("The destination span is shorter than the source span.");

    private static void ThrowOverlap() =>
        throw new ArgumentException("Source and destination overlap without being the same span (only exact in-place is allowed).");

    private static EmaException UnknownKind(ActivationKind kind) =>
        new($"Unknown activation kind code {(byte)kind}.");
}
