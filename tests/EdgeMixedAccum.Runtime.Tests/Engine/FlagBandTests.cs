using System.Runtime.Intrinsics;
using EdgeMixedAccum.Activations;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Runtime.Engine;

namespace EdgeMixedAccum.Runtime.Tests.Engine;

/// <summary>
/// FlagBand, the conv flag test's thresholds on s_hat, lane by lane against the exact scalar test on the bounds
/// I8Bounds computes: s_hat placed on every threshold the band holds, on the kinks and on 0, and up to three floats
/// either side of each (where an outward rounding turned inward, or a margin dropped, claims a wrong lane), for the
/// piecewise-linear activations it serves, with and without tau, the guard and a running maximum. A lane the band calls
/// quiet must be unflagged with a prediction at most min(tau, running maximum); a lane it calls flagged must be
/// flagged. (The whole loop against the screen and the exact test: ChannelBoundTests.)
/// </summary>
public class FlagBandTests
{
    public static TheoryData<Activation> Activations() =>
        [Activation.Relu, Activation.Identity, Activation.LeakyRelu(0.1f), Activation.LeakyRelu(0f), Activation.LeakyRelu(-0.5f),
         Activation.LeakyReluClip(0.1f, -2f, 6f), Activation.LeakyReluClip(0f, -1f, 0.5f), Activation.LeakyReluClip(0.3f, -1.5f, 6f),
         Activation.LeakyReluClip(-0.5f, -1f, 3f), Activation.LeakyReluClip(2f, -1f, 3f), Activation.Clip(-1f, 1f), Activation.Clip(0f, 6f), Activation.Clip(0.5f, 2f)];

    [Theory, MemberData(nameof(Activations))]
    public void EveryLaneTheBandDecidesHasTheExactOutcome(Activation act)
    {
        var p = ActivationParams.From(act);
        var kinks = FlagTest.Kinks(act);
        int quiet = 0, flagged = 0, lanes = 0, symmetric = 0;
        // Row constants: C = emax l1 (rigorous) + diff xl1, of a few magnitudes; the bias enters the upper bound.
        foreach (double emax in new[] { 1e-4, 0.02, 3.0 })
            foreach (float bias in new[] { 0f, 0.37f, -3f })
                foreach (double tau in new[] { double.PositiveInfinity, 0.05, 1e-3 })
                    foreach (double tauNeg in new[] { double.PositiveInfinity, 4, 0.5 })
                        foreach (double topOf in new[] { 0, 0.3, 1, double.PositiveInfinity })
                        {
                            var plan = new FlagPlan(in kinks, tau, tauNeg);
                            var band = FlagBand.For(in act, in p, in plan);
                            Assert.True(band.On, $"{act}: no band");
                            var row = Row([0], 1f, bias, emax);
                            double top = double.IsFinite(tau) ? tau * topOf : topOf, t = Math.Min(tau, top);
                            band.Row(row.C, row.CHi, ChannelBound.AHi, t);
                            Vector128<float> L(float v) => Vector128.Create(v); // the band's thresholds in lanes
                            var max = L(float.MaxValue);
                            string where = $"{act} emax {emax} bias {bias} tau {tau} tauNeg {tauNeg} T {t}";
                            var marks = new List<double>
                            {
                                band.NegQ, band.PosQ, band.Lo1, band.Hi1, band.Lo2, band.Hi2,
                                band.FNeg, band.FPos, band.FLo1, band.FHi1, band.FLo2, band.FHi2, 0, -0.0,
                            };
                            for (int c = 0; c < kinks.Count; c++) marks.Add(kinks.At(c));
                            foreach (double mark in marks)
                            {
                                if (!double.IsFinite(mark) || Math.Abs(mark) > 1e30) continue;
                                float m = (float)mark;
                                for (int d = -3; d <= 3; d++)
                                {
                                    float target = m;
                                    for (int j = 0; j < Math.Abs(d); j++) target = d < 0 ? MathF.BitDecrement(target) : MathF.BitIncrement(target);
                                    var (s, b) = Component(target, bias, emax);
                                    var sv = Vector128.Create(s);
                                    bool q = BandLanes<Vector128<float>, Lanes128>.Quiet<Asymmetric>(sv, L(band.NegQ), L(band.PosQ),
                                        L(band.Lo1), L(band.Hi1), L(band.Lo2), L(band.Hi2), band.KinkCount, max).AsUInt32() != Vector128<uint>.Zero;
                                    if (band.NegQ == -band.PosQ) // the loops' |s| form of the same test (Run takes it then)
                                    {
                                        bool qs = BandLanes<Vector128<float>, Lanes128>.Quiet<Symmetric>(sv, L(band.NegQ), L(band.PosQ),
                                            L(band.Lo1), L(band.Hi1), L(band.Lo2), L(band.Hi2), band.KinkCount, max).AsUInt32() != Vector128<uint>.Zero;
                                        Assert.True(q == qs, $"{where}: s {s:R}: quiet {q}, by |s| {qs}");
                                        symmetric++;
                                    }
                                    bool f = band.CanFlag && BandLanes<Vector128<float>, Lanes128>.Flagged(sv, L(band.FNeg), L(band.FPos),
                                        L(band.FLo1), L(band.FHi1), L(band.FLo2), L(band.FHi2), band.KinkCount).AsUInt32() != Vector128<uint>.Zero;
                                    var kappaOf = new float[1];
                                    ActivationMath.Kappa(act, in p, [s], kappaOf); // the engine's kappa (the pass's float)
                                    double kappa = kappaOf[0];
                                    bool exact = FlagTest.Flags(in kinks, s, kappa, b, tau, tauNeg, out double pred);
                                    string at = $"{where}: s {s:R} (mark {mark:R} {d:+0;-0;0}) B {b:R} kappa {kappa} pred {pred:R}";
                                    Assert.False(q && f, $"{at}: quiet and flagged");
                                    if (q) Assert.True(!exact && pred <= t, $"{at}: called quiet, exact flagged {exact}");
                                    if (f) Assert.True(exact, $"{at}: called flagged, exact not");
                                    lanes++;
                                    if (q) quiet++;
                                    if (f) flagged++;
                                }
                            }
                        }
        // The claims are made (a band that decides nothing passes the checks above): beside its thresholds a good
        // share of the lanes are decided, some each way.
        Assert.True(quiet > lanes / 10, $"{act}: {quiet} of {lanes} lanes quiet");
        Assert.True(flagged > lanes / 10, $"{act}: {flagged} of {lanes} lanes flagged");
        // Where kappa may be 1 below 0 the quiet thresholds around 0 are symmetric, so the |s| form was checked (elsewhere
        // only where the guard's radius sets both).
        bool negKappa = act.Kind is ActivationKind.Identity or ActivationKind.Clip || (act.Kind is ActivationKind.LeakyRelu or ActivationKind.LeakyReluClip && p.Alpha != 0);
        if (negKappa) Assert.True(symmetric > lanes / 2, $"{act}: {symmetric} of {lanes} lanes through the |s| form");
    }

    [Fact]
    public void TheBandsLoopWritesOnlyWhereTheRowsHaveRoom()
    {
        // Flagged lanes are stored a whole vector at a time past n: with rows holding n entries already and no room
        // for the rest of s, the loop decides nothing (the screen's checked writes take over); with room, it decides.
        var act = Activation.Relu;
        var p = ActivationParams.From(act);
        var plan = new FlagPlan(FlagTest.Kinks(act), 0.05, 1);
        var band = FlagBand.For(in act, in p, in plan);
        var row = Row([0], 1f, 0f, 0.02);
        band.Row(row.C, row.CHi, ChannelBound.AHi, 0.05);
        var s = new float[64];
        for (int i = 0; i < s.Length; i++) s[i] = i % 3 == 0 ? 1e-6f : 100f + i; // flagged near 0, quiet far out
        foreach (int room in new[] { 0, 5 })
        {
            var rows = new int[5 + s.Length - 5 + room]; // 5 entries already there
            Array.Fill(rows, -7);
            int cnt = 5;
            int stop = BandLanes<Vector128<float>, Lanes128>.Run(in band, ref s[0], 0, s.Length, rows, ref cnt);
            if (room == 0)
            {
                Assert.Equal(0, stop);
                Assert.All(rows, r => Assert.Equal(-7, r));
            }
            else
            {
                Assert.Equal(s.Length, stop);
                Assert.Equal(Enumerable.Range(0, s.Length).Where(i => i % 3 == 0), rows.Skip(5).Take(cnt - 5));
            }
        }
    }

    [Fact]
    public void ActivationsWithAComputedKappaOrManyKinksHaveNoBand()
    {
        foreach (var act in new[] { Activation.Tanh, Activation.Sigmoid })
        {
            var plan = new FlagPlan(FlagTest.Kinks(act), 0.1, 2);
            Assert.False(FlagBand.For(in act, ActivationParams.From(act), in plan).On, $"{act}");
        }
        // A LeakyReLU with a negative alpha clamped to [0.25, 3]: kinks 0, 0.25, -0.5, 3 and -6, four besides 0 (the
        // band takes two).
        var many = Activation.LeakyReluClip(-0.5f, 0.25f, 3f);
        var k = FlagTest.Kinks(many);
        Assert.Equal(5, k.Count);
        Assert.False(FlagBand.For(in many, ActivationParams.From(many), new FlagPlan(in k, 0.1, 2)).On);
    }

    /// <summary>A channel row whose bounds' constant is C = emax * 1 (rigorous) + 1e-6 * 10, with a step k = scale.</summary>
    private static ChannelBound Row(int[] dot, float scale, float bias, double emax) =>
        new(dot, scale, bias, 1e-6f, 1f, 1f, 1.0, emax, 10.0, true, LaneWidth.Best, new float[16], new double[Math.Max(16, dot.Length)]);

    /// <summary>A component whose s_hat is the float target (or its neighbour): the dot product on a grid 2^-28 of
    /// |target - bias| fine, so s lands within a few grid steps of the target, and its bound as the engine computes it.</summary>
    private static (float S, double B) Component(float target, float bias, double emax)
    {
        double span = Math.Max(Math.Abs((double)target - bias), 1e-30);
        float scale = (float)Math.ScaleB(1, Math.ILogB(span) - 28);
        int dot = (int)Math.Round((target - (double)bias) / scale);
        var row = Row([dot], scale, bias, emax);
        var s = new float[1];
        I8Bounds.Channel([dot], scale, bias, 1e-6f, 1f, 1f, 1.0, emax, 10.0, true, s, default, default);
        return (s[0], row.Exact(0, 1)[0]);
    }
}
