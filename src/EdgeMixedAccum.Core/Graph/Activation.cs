namespace EdgeMixedAccum.Graph;

/// <summary>Element-wise activations phi a Dense or Conv layer can apply to its pre-activation s.</summary>
/// <remarks>The numeric codes are stored in .ema files: never renumber, only append.</remarks>
public enum ActivationKind : byte
{
    Identity = 0,
    Relu = 1,
    /// <summary>clamp(t, Min, Max); ReLU6 is Clip(0, 6).</summary>
    Clip = 2,
    /// <summary>t for t &gt;= 0, Alpha * t otherwise.</summary>
    LeakyRelu = 3,
    Tanh = 4,
    Sigmoid = 5,
    /// <summary>GELU, exact erf form: t * Phi(t) with Phi the standard normal CDF.</summary>
    Gelu = 6,
    /// <summary>SiLU / swish: t * sigmoid(t).</summary>
    Silu = 7,
    /// <summary>LeakyReLU then clamp: clamp(LeakyRelu_Alpha(t), Min, Max), tf2onnx's LeakyReLU followed by a
    /// Max/Min with a constant, folded into one (format 1.2).</summary>
    LeakyReluClip = 8,
}

/// <summary>An activation with its parameters (Alpha for LeakyReLU, Min/Max for Clip, all three for LeakyReluClip;
/// unused ones are 0).</summary>
public readonly record struct Activation(ActivationKind Kind, float Alpha = 0f, float Min = 0f, float Max = 0f)
{
    public static readonly Activation Identity = new(ActivationKind.Identity);
    public static readonly Activation Relu = new(ActivationKind.Relu);
    public static readonly Activation Relu6 = new(ActivationKind.Clip, Min: 0f, Max: 6f);
    public static readonly Activation Tanh = new(ActivationKind.Tanh);
    public static readonly Activation Sigmoid = new(ActivationKind.Sigmoid);
    public static readonly Activation Gelu = new(ActivationKind.Gelu);
    public static readonly Activation Silu = new(ActivationKind.Silu);
    public static Activation LeakyRelu(float alpha) => new(ActivationKind.LeakyRelu, Alpha: alpha);
    public static Activation Clip(float min, float max) => new(ActivationKind.Clip, Min: min, Max: max);
    public static Activation LeakyReluClip(float alpha, float min, float max) => new(ActivationKind.LeakyReluClip, alpha, min, max);

    public override string ToString() => Kind switch
    {
        ActivationKind.LeakyRelu => $"LeakyRelu({Alpha})",
        ActivationKind.Clip => $"Clip({Min}, {Max})",
        ActivationKind.LeakyReluClip => $"LeakyRelu({Alpha})+Clip({Min}, {Max})",
        _ => Kind.ToString(),
    };
}
