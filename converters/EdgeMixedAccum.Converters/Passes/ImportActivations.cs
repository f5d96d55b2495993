using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Converters.Passes;

/// <summary>Maps element-wise activation nodes of the import IR to <see cref="Activation"/>.</summary>
public static class ImportActivations
{
    /// <summary>The op types that are activations.</summary>
    public static IReadOnlySet<string> Ops { get; } = new HashSet<string>(StringComparer.Ordinal)
        { "Relu", "Clip", "LeakyRelu", "Tanh", "Sigmoid", "Gelu", ImportOps.Silu };

    public static bool IsActivation(ImportNode n) => Ops.Contains(n.OpType);

    /// <summary>The activation <paramref name="n"/> computes; throws naming the node when its parameters are
    /// not supported (Gelu approximate="tanh", non-constant Clip bounds).</summary>
    public static Activation Of(ImportNode n, ImportGraph g)
    {
        switch (n.OpType)
        {
            case "Relu": return Activation.Relu;
            case "Tanh": return Activation.Tanh;
            case "Sigmoid": return Activation.Sigmoid;
            case ImportOps.Silu: return Activation.Silu;
            case "LeakyRelu":
                {
                    float alpha = n.Float("alpha", 0.01f);
                    if (!float.IsFinite(alpha)) throw n.Fail($"alpha {alpha} is not finite");
                    return Activation.LeakyRelu(alpha);
                }
            case "Gelu":
                {
                    string approx = n.String("approximate", "none");
                    if (approx != "none")
                        throw n.Fail($"approximate=\"{approx}\" is not supported: only the exact (erf) GELU is; export with approximate='none'");
                    return Activation.Gelu;
                }
            case "Clip": return Clip(n, g);
            default: throw n.Fail("is not an activation");
        }
    }

    private static Activation Clip(ImportNode n, ImportGraph g)
    {
        float min, max;
        if (g.Opset < 11)
        {
            min = n.Float("min", float.MinValue);
            max = n.Float("max", float.MaxValue);
        }
        else
        {
            min = Bound(n, g, 1, float.NegativeInfinity);
            max = Bound(n, g, 2, float.PositiveInfinity);
        }
        if (float.IsNaN(min) || float.IsNaN(max)) throw n.Fail("a clip bound is NaN");
        if (min > max) throw n.Fail($"min {min} exceeds max {max}");
        // The largest finite floats are ONNX's "no bound" defaults.
        if (min <= float.MinValue) min = float.NegativeInfinity;
        if (max >= float.MaxValue) max = float.PositiveInfinity;
        if (float.IsNegativeInfinity(min) && float.IsPositiveInfinity(max)) return Activation.Identity;
        if (min == 0 && float.IsPositiveInfinity(max)) return Activation.Relu;
        return Activation.Clip(min, max);
    }

    private static float Bound(ImportNode n, ImportGraph g, int input, float fallback)
    {
        if (!n.HasInput(input)) return fallback;
        var c = g.TryConstant(n.Input(input)) ?? throw n.Fail($"bound '{n.Input(input)}' must be a constant");
        return (float)c.Scalar($"{n.Where}: {(input == 1 ? "min" : "max")}");
    }
}
