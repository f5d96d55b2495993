using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Activations;

/// <summary>
/// One element-wise activation phi written once as static members (the TensorPrimitives
/// IUnaryOperator pattern): the generic loops of <see cref="ActivationMath"/> are specialised per
/// operator struct, so the per-element call is direct and inlinable, with no virtual dispatch.
/// </summary>
/// <remarks>
/// Contract shared by every implementation: NaN in gives NaN out (Phi, Derivative and Kappa);
/// ±inf give the limits of phi, phi' and kappa_phi (kappa may itself be +inf, e.g. sigmoid, SiLU and
/// GELU at -inf); no formula ever produces NaN from a finite argument (0/0 at t = 0 or where
/// phi(t) = 0 is replaced by its limit). At kinks (ReLU, LeakyReLU at 0; Clip at Min and Max)
/// Kappa takes the larger one-sided limit and Derivative the slope of the closed inner piece
/// (1), see docs/activations.md.
/// </remarks>
public interface IActivationOp
{
    /// <summary>The kind this operator implements.</summary>
    static abstract ActivationKind Kind { get; }

    /// <summary>phi(t) in double.</summary>
    static abstract double Phi(double t, in ActivationParams p);

    /// <summary>phi(t) in float, for the hot path: within a few float ulps of the double phi.</summary>
    static abstract float Phi(float t, in ActivationParams p);

    /// <summary>phi'(t) in double.</summary>
    static abstract double Derivative(double t, in ActivationParams p);

    /// <summary>The componentwise condition number kappa_phi(t) = |t phi'(t) / phi(t)| in double, guarded.</summary>
    static abstract double Kappa(double t, in ActivationParams p);

    /// <summary>Optional vectorised span form of the float Phi (the engine's hot path): writes y[0, s.Length) and
    /// returns true, or returns false to let the generic element loop run. Same contract as the element form.</summary>
    static virtual bool PhiSpan(ReadOnlySpan<float> s, Span<float> y, in ActivationParams p) => false;

    /// <summary>Optional vectorised span form of Kappa into float (evaluated in double, rounded), or false.</summary>
    static virtual bool KappaSpan(ReadOnlySpan<float> s, Span<float> kappa, in ActivationParams p) => false;

    /// <summary>Optional: phi into y and kappa into kappa of the same s in one pass, each with the bits of
    /// <see cref="PhiSpan"/> and <see cref="KappaSpan"/>, for kinds whose two forms share their costly part (tanh: one
    /// exp(-2|t|)); false when the kind offers none (the caller then takes kappa alone).</summary>
    static virtual bool PhiAndKappaSpan(ReadOnlySpan<float> s, Span<float> y, Span<float> kappa, in ActivationParams p) => false;
}
