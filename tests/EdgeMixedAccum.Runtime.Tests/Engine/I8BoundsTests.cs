using EdgeMixedAccum.Runtime.Engine;

namespace EdgeMixedAccum.Runtime.Tests.Engine;

/// <summary>The vectorised int8 s_hat and bounds against the scalar reference: bit-identical for every length,
/// both flag-bound kinds, and values from tiny to huge.</summary>
public class I8BoundsTests
{
    public static TheoryData<int> Lengths() => [0, 1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 15, 16, 17, 23, 24, 31, 33, 63, 256];

    [Theory, MemberData(nameof(Lengths))]
    public void VectorEqualsScalar(int n)
    {
        var rng = new Random(n * 31 + 5);
        foreach (bool rigorous in new[] { false, true })
            foreach (double mag in new[] { 1e-6, 1.0, 1e6 })
            {
                var dot = new int[n];
                var scale = new float[n]; var bias = new float[n]; var diff = new float[n]; var l1 = new float[n]; var l2 = new float[n];
                for (int i = 0; i < n; i++)
                {
                    dot[i] = rng.Next(-2_000_000, 2_000_000);
                    scale[i] = (float)(rng.NextDouble() * 0.01 * mag);
                    bias[i] = (float)((rng.NextDouble() * 2 - 1) * mag);
                    diff[i] = (float)(rng.NextDouble() * 1e-3);
                    l1[i] = (float)(rng.NextDouble() * 100);
                    l2[i] = (float)(rng.NextDouble() * 10);
                }
                var row = new I8Bounds.Row(scale, bias, diff, l1, l2);
                double sx = 0.0123 * mag, emax = 0.004 * mag, xl1 = 37.5 * mag;
                var s1 = new float[n]; var r1 = new double[n]; var f1 = new double[n];
                var s2 = new float[n]; var r2 = new double[n]; var f2 = new double[n];
                I8Bounds.Scalar(dot, in row, sx, emax, xl1, rigorous, s1, r1, f1);
                I8Bounds.Vector(dot, in row, sx, emax, xl1, rigorous, s2, r2, f2);
                Assert.Equal(s1, s2);
                Assert.Equal(r1, r2);
                Assert.Equal(f1, f2);
            }
    }

    [Theory, MemberData(nameof(Lengths))]
    public void ChannelEqualsScalarOnConstantRows(int n)
    {
        // The conv panel path: one channel's constants over n positions, bit-identical to Scalar on arrays
        // filled with them (the per-channel terms folded first must not change a rounding).
        var rng = new Random(n * 17 + 3);
        foreach (bool rigorous in new[] { false, true })
            foreach (double mag in new[] { 1e-6, 1.0, 1e6 })
            {
                var dot = new int[n];
                for (int i = 0; i < n; i++) dot[i] = rng.Next(-2_000_000, 2_000_000);
                float scale = (float)(rng.NextDouble() * 0.01 * mag), bias = (float)((rng.NextDouble() * 2 - 1) * mag);
                float diff = (float)(rng.NextDouble() * 1e-3), l1 = (float)(rng.NextDouble() * 100), l2 = (float)(rng.NextDouble() * 10);
                float[] Fill(float v) { var a = new float[n]; Array.Fill(a, v); return a; }
                var row = new I8Bounds.Row(Fill(scale), Fill(bias), Fill(diff), Fill(l1), Fill(l2));
                double sx = 0.0123 * mag, emax = 0.004 * mag, xl1 = 37.5 * mag;
                var s1 = new float[n]; var r1 = new double[n]; var f1 = new double[n];
                I8Bounds.Scalar(dot, in row, sx, emax, xl1, rigorous, s1, r1, f1);
                foreach (int width in LaneWidth.Supported()) // each loop this machine runs, then its tails
                {
                    var s2 = new float[n]; var r2 = new double[n]; var f2 = new double[n];
                    I8Bounds.Channel(dot, scale, bias, diff, l1, l2, sx, emax, xl1, rigorous, s2, r2, f2, width);
                    Assert.Equal(s1, s2);
                    Assert.Equal(r1, r2);
                    Assert.Equal(f1, f2);
                    // Without the rigorous bound (no trace): the same s_hat and flag bound.
                    var s3 = new float[n]; var f3 = new double[n];
                    I8Bounds.Channel(dot, scale, bias, diff, l1, l2, sx, emax, xl1, rigorous, s3, default, f3, width);
                    Assert.Equal(s1, s3);
                    Assert.Equal(f1, f3);
                    // s_hat alone (untraced, the flag test enclosing the bound from s): its own loop, the same bits.
                    var s4 = new float[n];
                    I8Bounds.Channel(dot, scale, bias, diff, l1, l2, sx, emax, xl1, rigorous, s4, default, default, width);
                    Assert.Equal(s1, s4);
                }
            }
    }
}
