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
        Activation.LeakyReluClip(0.25f, -2f, 6f),  // tf2onnx's LeakyReLU + clamp: kinks at -8, 0, 6
        Activation.LeakyReluClip(0.5f, 0f, 6f),    // the clamp cuts the leaky side: ReLU6
        Activation.LeakyReluClip(-0.5f, -1f, 2f),  // odd alpha: both sides reach Max (kinks at -4, 0, 2)
        Activation.LeakyReluClip(0f, -1f, 1f),     // alpha 0: ReLU clamped at 1
        Activation.LeakyReluClip(0.5f, 1f, 3f),    // 0 outside the range: phi never 0
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
        ActivationKind.LeakyReluClip => LeakyClipKinks(a),
        _ => [0.0],
    };

    /// <summary>0 and every t whose LeakyReLU value is a bound: t = v on the right side (v &gt;= 0), v / alpha on
    /// the left (when that is negative). The cases above keep these exact in double.</summary>
    private static double[] LeakyClipKinks(Activation a)
    {
        var k = new List<double> { 0.0 };
        foreach (double v in new double[] { a.Min, a.Max })
        {
            if (v >= 0) k.Add(v);
            if (a.Alpha != 0 && v / a.Alpha < 0) k.Add(v / a.Alpha);
        }
        return k.Distinct().Order().ToArray();
    }

    /// <summary>Kinks only (where the one-sided limits of kappa differ): the piecewise-linear kinds.</summary>
    public static bool IsPiecewiseLinear(Activation a) =>
        a.Kind is ActivationKind.Relu or ActivationKind.Clip or ActivationKind.LeakyRelu or ActivationKind.LeakyReluClip;

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
