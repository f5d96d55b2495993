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
        if (TOp.PhiSpan(s, y, in p)) return;
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
        if (TOp.KappaSpan(s, kappa, in p)) return;
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

    // ---- entry points taking an Activation: one switch, in Dispatch --------------------------------

    /// <summary>y[i] = phi(s[i]) in float. Throws <see cref="EmaException"/> for invalid parameters or an unknown kind.</summary>
    public static void Apply(Activation a, ReadOnlySpan<float> s, Span<float> y)
    {
        var w = new ApplyWork<float>(s, y, ActivationParams.From(a));
        Dispatch<ApplyWork<float>, bool>(a.Kind, ref w);
    }

    /// <summary>y[i] = phi(s[i]) in float, with parameters the caller validated once (<see cref="ActivationParams.From"/>
    /// of <paramref name="a"/>): the engine's per-row form.</summary>
    public static void Apply(Activation a, in ActivationParams p, ReadOnlySpan<float> s, Span<float> y)
    {
        var w = new ApplyWork<float>(s, y, p);
        Dispatch<ApplyWork<float>, bool>(a.Kind, ref w);
    }

    /// <summary>y[i] = phi(s[i]) in double.</summary>
    public static void Apply(Activation a, ReadOnlySpan<double> s, Span<double> y)
    {
        var w = new ApplyWork<double>(s, y, ActivationParams.From(a));
        Dispatch<ApplyWork<double>, bool>(a.Kind, ref w);
    }

    /// <summary>kappa[i] = kappa_phi(s[i]) (computed in double, rounded to float).</summary>
    public static void Kappa(Activation a, ReadOnlySpan<float> s, Span<float> kappa) => Kappa(a, ActivationParams.From(a), s, kappa);

    /// <summary>kappa[i] = kappa_phi(s[i]) (computed in double, rounded to float), with parameters the caller validated
    /// once (<see cref="ActivationParams.From"/> of <paramref name="a"/>): the engine's per-row form.</summary>
    public static void Kappa(Activation a, in ActivationParams p, ReadOnlySpan<float> s, Span<float> kappa)
    {
        var w = new KappaWork<float>(s, kappa, p);
        Dispatch<KappaWork<float>, bool>(a.Kind, ref w);
    }

    /// <summary>y[i] = phi(s[i]) and kappa[i] = kappa_phi(s[i]) in one pass where the kind shares their work (tanh), each
    /// with the bits of <see cref="Apply(Activation, in ActivationParams, ReadOnlySpan{float}, Span{float})"/> and
    /// <see cref="Kappa(Activation, in ActivationParams, ReadOnlySpan{float}, Span{float})"/>; returns false, writing
    /// nothing, for the other kinds. y may be s itself; kappa must not overlap s or y.</summary>
    public static bool PhiAndKappa(Activation a, in ActivationParams p, ReadOnlySpan<float> s, Span<float> y, Span<float> kappa)
    {
        CheckSpans(s, y);
        CheckSpans(s, kappa);
        if (s.Overlaps(kappa) || ((ReadOnlySpan<float>)y).Overlaps(kappa)) ThrowOverlap();
        var w = new PhiKappaWork(s, y, kappa, p);
        return Dispatch<PhiKappaWork, bool>(a.Kind, ref w);
    }

    /// <summary>kappa[i] = kappa_phi(s[i]) in double.</summary>
    public static void Kappa(Activation a, ReadOnlySpan<double> s, Span<double> kappa)
    {
        var w = new KappaWork<double>(s, kappa, ActivationParams.From(a));
        Dispatch<KappaWork<double>, bool>(a.Kind, ref w);
    }

    /// <summary>phi(t) in double.</summary>
    public static double Phi(Activation a, double t)
    {
        var w = new ScalarWork(t, ActivationParams.From(a), ScalarFn.Phi);
        return Dispatch<ScalarWork, double>(a.Kind, ref w);
    }

    /// <summary>phi(t) in float (the hot-path formula; within a few float ulps of the double one).</summary>
    public static float Phi(Activation a, float t)
    {
        var w = new FloatPhiWork(t, ActivationParams.From(a));
        return Dispatch<FloatPhiWork, float>(a.Kind, ref w);
    }

    /// <summary>phi'(t) in double (at kinks: the slope of the closed inner piece, 1).</summary>
    public static double Derivative(Activation a, double t)
    {
        var w = new ScalarWork(t, ActivationParams.From(a), ScalarFn.Derivative);
        return Dispatch<ScalarWork, double>(a.Kind, ref w);
    }

    /// <summary>kappa_phi(t) = |t phi'(t) / phi(t)| in double, guarded (limits at t = 0 and at kinks, ±inf).</summary>
    public static double Kappa(Activation a, double t)
    {
        var w = new ScalarWork(t, ActivationParams.From(a), ScalarFn.Kappa);
        return Dispatch<ScalarWork, double>(a.Kind, ref w);
    }

    /// <summary>Work to run with the operator struct of one kind.</summary>
    private interface IKindWork<TResult>
    {
        TResult Run<TOp>() where TOp : struct, IActivationOp;
    }

    /// <summary>The one place that maps an <see cref="ActivationKind"/> to its operator struct.</summary>
    private static TResult Dispatch<TWork, TResult>(ActivationKind kind, ref TWork work)
        where TWork : IKindWork<TResult>, allows ref struct
        => kind switch
        {
            ActivationKind.Identity => work.Run<IdentityOp>(),
            ActivationKind.Relu => work.Run<ReluOp>(),
            ActivationKind.Clip => work.Run<ClipOp>(),
            ActivationKind.LeakyRelu => work.Run<LeakyReluOp>(),
            ActivationKind.Tanh => work.Run<TanhOp>(),
            ActivationKind.Sigmoid => work.Run<SigmoidOp>(),
            ActivationKind.Gelu => work.Run<GeluOp>(),
            ActivationKind.Silu => work.Run<SiluOp>(),
            ActivationKind.LeakyReluClip => work.Run<LeakyReluClipOp>(),
            _ => throw UnknownKind(kind),
        };

    private readonly ref struct ApplyWork<T>(ReadOnlySpan<T> s, Span<T> y, ActivationParams p) : IKindWork<bool>
    {
        private readonly ReadOnlySpan<T> _s = s;
        private readonly Span<T> _y = y;

        public bool Run<TOp>() where TOp : struct, IActivationOp
        {
            if (typeof(T) == typeof(float)) Apply<TOp>(Cast<T, float>(_s), Cast<T, float>(_y), p);
            else Apply<TOp>(Cast<T, double>(_s), Cast<T, double>(_y), p);
            return true;
        }
    }

    private readonly ref struct KappaWork<T>(ReadOnlySpan<T> s, Span<T> k, ActivationParams p) : IKindWork<bool>
    {
        private readonly ReadOnlySpan<T> _s = s;
        private readonly Span<T> _k = k;

        public bool Run<TOp>() where TOp : struct, IActivationOp
        {
            if (typeof(T) == typeof(float)) Kappa<TOp>(Cast<T, float>(_s), Cast<T, float>(_k), p);
            else Kappa<TOp>(Cast<T, double>(_s), Cast<T, double>(_k), p);
            return true;
        }
    }

    private readonly ref struct PhiKappaWork(ReadOnlySpan<float> s, Span<float> y, Span<float> k, ActivationParams p) : IKindWork<bool>
    {
        private readonly ReadOnlySpan<float> _s = s;
        private readonly Span<float> _y = y, _k = k;

        public bool Run<TOp>() where TOp : struct, IActivationOp => TOp.PhiAndKappaSpan(_s, _y, _k, p);
    }

    private enum ScalarFn { Phi, Derivative, Kappa }

    private readonly struct ScalarWork(double t, ActivationParams p, ScalarFn fn) : IKindWork<double>
    {
        public double Run<TOp>() where TOp : struct, IActivationOp => fn switch
        {
            ScalarFn.Phi => TOp.Phi(t, p),
            ScalarFn.Derivative => TOp.Derivative(t, p),
            _ => TOp.Kappa(t, p),
        };
    }

    private readonly struct FloatPhiWork(float t, ActivationParams p) : IKindWork<float>
    {
        public float Run<TOp>() where TOp : struct, IActivationOp => TOp.Phi(t, p);
    }

    // The typeof(T) tests above are JIT-time constants: each instantiation keeps one branch.
    private static ReadOnlySpan<TTo> Cast<TFrom, TTo>(ReadOnlySpan<TFrom> s) =>
        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<TFrom, TTo>(ref MemoryMarshal.GetReference(s)), s.Length);

    private static Span<TTo> Cast<TFrom, TTo>(Span<TFrom> s) =>
        MemoryMarshal.CreateSpan(ref Unsafe.As<TFrom, TTo>(ref MemoryMarshal.GetReference(s)), s.Length);

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
