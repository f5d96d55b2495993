using System.Runtime.Intrinsics;
using EdgeMixedAccum.Activations;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Runtime.Engine;

namespace EdgeMixedAccum.Runtime.Tests.Engine;

/// <summary>
/// FlagKappa.cs, the conv flag test's kappa enclosed in registers from s_hat (UnitKappa, SignKappa, ClampKappa by the
/// activation's shape), against kappa_phi's element form in
/// double (ActivationMath): lo &lt;= kappa &lt;= hi in every lane at every width, lo = hi except where the float
/// LeakyReLU value sits on a clamp bound (where the float and the exact product may lie on different sides), and
/// Exact gives the kappa row's bits. Results on and beside every bound and kink, where alpha * t rounds onto a bound,
/// at 0 and -0, and at the ends of float's range. (ChannelBoundTests runs the whole flag test with it.)
/// </summary>
public class FlagKappaTests
{
    public static TheoryData<Activation> Piecewise() =>
    [
        Activation.Identity, Activation.Relu, Activation.LeakyRelu(0.1f), Activation.LeakyRelu(-0.5f), Activation.Clip(-1f, 1f),
        Activation.Relu6, Activation.Clip(2f, 2f), Activation.Clip(float.NegativeInfinity, 1f), Activation.LeakyReluClip(0.1f, -2f, 6f),
        Activation.LeakyReluClip(0f, -1f, 0.5f), Activation.LeakyReluClip(-0.5f, 0.5f, 2f), Activation.LeakyReluClip(0.3f, -1.5f, 6f),
        Activation.LeakyReluClip(0.1f, 1f, 1f),
    ];

    [Fact]
    public void CoversThePiecewiseLinearKindsOnly()
    {
        foreach (Activation a in Piecewise()) Assert.NotEqual(FlagKappaKind.Row, FlagKappa.Of(a));
        Assert.Equal(FlagKappaKind.Sign, FlagKappa.Of(Activation.LeakyRelu(0f)));
        Assert.Equal(FlagKappaKind.Unit, FlagKappa.Of(Activation.LeakyRelu(-0.5f)));
        foreach (var a in new[] { Activation.Tanh, new Activation(ActivationKind.Sigmoid), new Activation(ActivationKind.Gelu), new Activation(ActivationKind.Silu) })
            Assert.Equal(FlagKappaKind.Row, FlagKappa.Of(a));
    }

    [Theory, MemberData(nameof(Piecewise))]
    public void RangeEnclosesKappaAndIsExactOffTheBounds(Activation act)
    {
        var p = ActivationParams.From(act);
        float alpha = act.Kind switch { ActivationKind.Identity or ActivationKind.Clip => 1f, ActivationKind.Relu => 0f, _ => act.Alpha };
        bool clamps = act.Kind is ActivationKind.Clip or ActivationKind.LeakyReluClip;
        var s = Points(act, alpha, clamps);
        var kappa = s.Select(t => (float)ActivationMath.Kappa(act, (double)t)).ToArray();
        int ambiguous = 0;
        foreach (int width in LaneWidth.Supported().Where(w => w > 0)) // the vector loops (0 is the scalar tail's)
        {
            var row = new float[s.Length];
            switch (FlagKappa.Of(act))
            {
                case FlagKappaKind.Unit: { var k = new UnitKappa(row); Check(ref k, width); break; }
                case FlagKappaKind.Sign: { var k = new SignKappa(s, row); Check(ref k, width); break; }
                default: { var k = new ClampKappa(in act, in p, s, row); Check(ref k, width); break; }
            }
            Assert.True(row.SequenceEqual(kappa), $"{act} width {width}: the row Exact wrote");
        }
        if (clamps && act.Min < act.Max) Assert.True(ambiguous > 0, "no result on a bound: the test missed the case");

        void Check<TK>(ref TK kp, int width) where TK : struct, IFlagKappa, allows ref struct
        {
            int lanes = width / 32;
            for (int i = 0; i + lanes <= s.Length; i += lanes)
            {
                float[] lo = new float[lanes], hi = new float[lanes];
                if (width == 512) { kp.Range(i, Vector512.Create(s.AsSpan(i, 16)), out var l, out var h); l.CopyTo(lo); h.CopyTo(hi); }
                else if (width == 256) { kp.Range(i, Vector256.Create(s.AsSpan(i, 8)), out var l, out var h); l.CopyTo(lo); h.CopyTo(hi); }
                else { kp.Range(i, Vector128.Create(s.AsSpan(i, 4)), out var l, out var h); l.CopyTo(lo); h.CopyTo(hi); }
                for (int j = 0; j < lanes; j++)
                {
                    float t = s[i + j], k = kappa[i + j];
                    string at = $"{act} width {width} s {t:R}: kappa {k} in [{lo[j]}, {hi[j]}]";
                    Assert.True(lo[j] <= k && k <= hi[j], at);
                    if (lo[j] == hi[j]) continue;
                    float v = t < 0 ? alpha * t : t; // the float LeakyReLU value
                    Assert.True(clamps && (v == act.Min || v == act.Max), $"{at}: undecided off the bounds");
                    Assert.True(act.Min < act.Max, $"{at}: a degenerate clamp is constant, kappa 0 on its bound too");
                    ambiguous++;
                }
                Assert.True(kp.Exact(i, lanes).SequenceEqual(kappa.AsSpan(i, lanes)), $"{act} width {width} at {i}: Exact");
            }
        }
    }

    /// <summary>Random results of every magnitude, and each bound, kink and 0 with its float neighbours, the results
    /// whose alpha multiple lands on (or next to) a bound, and the ends of float's range; a multiple of 16 long.</summary>
    private static float[] Points(in Activation act, float alpha, bool clamps)
    {
        var rng = new Random(3);
        var pts = new List<float> { 0f, -0f, float.Epsilon, -float.Epsilon, float.MaxValue, -float.MaxValue, 1e-30f, -1e-30f };
        void Around(float v) { if (float.IsFinite(v)) pts.AddRange([v, MathF.BitIncrement(v), MathF.BitDecrement(v)]); }
        if (clamps)
            foreach (float b in new[] { act.Min, act.Max })
            {
                Around(b);
                if (alpha != 0) { Around(b / alpha); Around(-b / alpha); }
            }
        for (int i = 0; i < 200; i++) pts.Add((float)((rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-8, 8))));
        while (pts.Count % 16 != 0) pts.Add((float)(rng.NextDouble() * 4 - 2));
        return pts.ToArray();
    }
}
