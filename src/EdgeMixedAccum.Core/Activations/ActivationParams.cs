using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Activations;

/// <summary>
/// The numeric parameters of an activation, validated once and held in both precisions so the
/// element loops never convert: Alpha (LeakyReLU slope for t &lt; 0), Min/Max (Clip bounds, may be
/// infinite). Build it with <see cref="From"/>; <c>default</c> is fine for parameterless kinds.
/// </summary>
public readonly struct ActivationParams
{
    public readonly double Alpha;
    public readonly double Min;
    public readonly double Max;
    public readonly float AlphaF;
    public readonly float MinF;
    public readonly float MaxF;

    private ActivationParams(float alpha, float min, float max)
    {
        AlphaF = alpha; MinF = min; MaxF = max;
        Alpha = alpha; Min = min; Max = max;
    }

    /// <summary>
    /// The parameters of <paramref name="a"/>. Throws <see cref="EmaException"/> when the ones its kind
    /// uses are invalid: Clip with a NaN bound or Min &gt; Max; LeakyReLU with a NaN or infinite Alpha.
    /// Parameters the kind does not use are ignored.
    /// </summary>
    public static ActivationParams From(Activation a)
    {
        switch (a.Kind)
        {
            case ActivationKind.Clip:
                CheckRange(a);
                break;
            case ActivationKind.LeakyRelu:
                CheckAlpha(a);
                break;
            case ActivationKind.LeakyReluClip:
                CheckAlpha(a);
                CheckRange(a);
                break;
        }
        return new ActivationParams(a.Alpha, a.Min, a.Max);
    }

    private static void CheckRange(Activation a)
    {
        if (float.IsNaN(a.Min) || float.IsNaN(a.Max) || a.Min > a.Max)
            throw new EmaException($"Invalid activation {a}: Clip needs Min <= Max, both not NaN.");
    }

    private static void CheckAlpha(Activation a)
    {
        if (!float.IsFinite(a.Alpha))
            throw new EmaException($"Invalid activation {a}: LeakyRelu needs a finite Alpha.");
    }
}
