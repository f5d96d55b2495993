namespace EdgeMixedAccum.Graph;

/// <summary>How a Dense or Conv layer accumulates its inner products (ARCHITECTURE.md, precision modes).</summary>
/// <remarks>Codes are stored in .ema files: never renumber, only append.</remarks>
public enum Precision : byte
{
    /// <summary>fp32 accumulate: the reference, never flagged.</summary>
    F32 = 0,
    /// <summary>int8 weights x int8 activations, exact int32 accumulation; error from quantising x.</summary>
    I8 = 1,
    /// <summary>fp16 weights and activations, fp16 products and accumulator.</summary>
    F16Acc = 2,
}

/// <summary>How (|W||x|)_i is estimated for the flag test; a looser estimate only recomputes more.</summary>
/// <remarks>Codes are stored in .ema files: never renumber, only append.</remarks>
public enum EstimatorKind : byte
{
    /// <summary>sum_j |w_ij||x_j| accumulated in the same pass as the low-precision product.</summary>
    Fused = 0,
    /// <summary>||w_i||_1 * max_j |x_j| from precomputed row norms: O(m + n).</summary>
    RowNorm = 1,
    /// <summary>Per-block row norms times per-block max |x| (BlockSize columns a block).</summary>
    Blocked = 2,
}

/// <summary>
/// The precision plan of one layer: Algorithm 1 of PAPER.md runs the low pass in
/// <see cref="Precision"/>, flags component i when kappa_phi(s_i) * bound_i / |s_i| &gt; <see cref="Tau"/>,
/// and recomputes flagged components in fp32.
/// </summary>
/// <param name="Tau">Flag tolerance; +inf never recomputes, 0 recomputes everything. Never NaN or negative.</param>
/// <param name="TauNegative">Tolerance of the first-order guard (docs/engine.md): a component is flagged when its
/// bound exceeds this times its distance to the nearest kink (Clip) or to zero (ReLU's kink, the sign of any
/// other phi), where kappa_phi(s_hat) no longer speaks for s. For ReLU it is PAPER.md's sign guard. +inf disables it.</param>
/// <param name="BlockSize">Columns per block for <see cref="EstimatorKind.Blocked"/>; 0 otherwise.</param>
/// <param name="InputScale">Static int8 activation scale of the layer's input (step_x), from calibration;
/// 0 means dynamic (max |x| / 127 per inference). Only meaningful for <see cref="Precision.I8"/>.</param>
public sealed record LayerPlan(
    Precision Precision = Precision.F32,
    float Tau = float.PositiveInfinity,
    EstimatorKind Estimator = EstimatorKind.RowNorm,
    int BlockSize = 0,
    float TauNegative = float.PositiveInfinity,
    float InputScale = 0f)
{
    public static readonly LayerPlan Fp32 = new();

    /// <summary>
    /// The converter's tau for a low precision until calibration picks one (docs/engine.md, measured on the
    /// Fashion-MNIST fixtures): the flag constants differ per format (int8: 2 e_max ||w_i||_2; f16acc:
    /// sqrt(n) u (|W||x|)_i), so one tau does not fit both. A session that switches a layer to another low
    /// precision without a tau of its own uses that precision's default.
    /// </summary>
    public static float DefaultTau(Precision p) => p switch
    {
        Precision.I8 => 0.005f,
        Precision.F16Acc => 0.025f,
        _ => float.PositiveInfinity,
    };

    /// <summary>Throws <see cref="EmaException"/> naming <paramref name="where"/> if any field is out of its domain.</summary>
    public void Validate(string where)
    {
        if (!Enum.IsDefined(Precision)) throw new EmaException($"{where}: unknown precision code {(byte)Precision}");
        if (!Enum.IsDefined(Estimator)) throw new EmaException($"{where}: unknown estimator code {(byte)Estimator}");
        if (float.IsNaN(Tau) || Tau < 0) throw new EmaException($"{where}: tau must be >= 0 (or +inf), got {Tau}");
        if (float.IsNaN(TauNegative) || TauNegative < 0) throw new EmaException($"{where}: tau_negative must be >= 0 (or +inf), got {TauNegative}");
        if (Estimator == EstimatorKind.Blocked ? BlockSize <= 0 : BlockSize != 0)
            throw new EmaException($"{where}: block size {BlockSize} does not fit estimator {Estimator}");
        if (!float.IsFinite(InputScale) || InputScale < 0) throw new EmaException($"{where}: input scale must be finite and >= 0, got {InputScale}");
    }
}
