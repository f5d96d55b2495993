using EdgeMixedAccum.Activations;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Tests.Activations;

/// <summary>The activations every test runs over, with the points where phi has a kink or phi(t) = 0.</summary>
internal static class ActivationCases
{
    public static readonly Activation[] All =
    [
        Activation.Identity,
        Activation.Relu,
        Activation.Relu6,
        Activation.Clip(-1f, 1f),       // 0 inside the range
        Activation.Clip(-2.5f, -0.5f),  // 0 outside: phi never 0
        Activation.LeakyRelu(0.1f),
        Activation.LeakyRelu(0f),       // degenerates to ReLU
        Activation.LeakyRelu(-0.5f),    // odd but legal: kappa still 1 on both sides
        Activation.Tanh,
        Activation.Sigmoid,
        Activation.Gelu,
        Activation.Silu,
    ];

    public static IEnumerable<object[]> Data() => All.Select(a => new object[] { a });

    /// <summary>Kinks of phi and zeros of phi (t = 0 for the odd-ish ones); sigmoid has none.</summary>
    public static double[] SingularPoints(Activation a) => a.Kind switch
    {
        ActivationKind.Sigmoid => [],
        ActivationKind.Clip => a.Min < 0 && a.Max > 0 ? [a.Min, 0.0, a.Max] : [a.Min, a.Max],
        _ => [0.0],
    };

    /// <summary>Kinks only (where the one-sided limits of kappa differ): the piecewise-linear kinds.</summary>
    public static bool IsPiecewiseLinear(Activation a) =>
        a.Kind is ActivationKind.Relu or ActivationKind.Clip or ActivationKind.LeakyRelu;

    /// <summary>Distance in float ulps (0 for equal values, +0 vs -0, or two NaNs).</summary>
    public static long UlpDistance(float x, float y)
    {
        if (x == y || (float.IsNaN(x) && float.IsNaN(y)))
            return 0;
        if (float.IsNaN(x) || float.IsNaN(y))
            return long.MaxValue;
        static long Ordered(float v)
        {
            int bits = BitConverter.SingleToInt32Bits(v);
            return bits < 0 ? -(long)(bits & int.MaxValue) : bits;
        }
        return Math.Abs(Ordered(x) - Ordered(y));
    }
}
