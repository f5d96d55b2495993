using EdgeMixedAccum.Activations;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Runtime.Engine;

namespace EdgeMixedAccum.Runtime.Tests.Engine;

/// <summary>
/// The conv channel path's flag test, which never stores the double flag bounds (ChannelBound: a float enclosure
/// from |s_hat| for the screen, the double bounds only for undecided blocks and the scalar tail), against the
/// scalar test on the bounds I8Bounds.Scalar computes: the same flagged indices and the same largest prediction,
/// at every lane width this machine runs, with taus and guard thresholds placed exactly on components' predictions
/// (where an enclosure too narrow or too wide would decide wrongly) and results that overflow.
/// </summary>
public class ChannelBoundTests
{
    public static TheoryData<Activation> Activations() =>
        [Activation.Relu, Activation.Identity, Activation.Tanh, Activation.LeakyReluClip(0.3f, -1.5f, 6f), Activation.Clip(-1f, 1f),
         Activation.LeakyRelu(0.1f), Activation.LeakyReluClip(0f, -1f, 0.5f)];

    [Theory, MemberData(nameof(Activations))]
    public void EnclosedBoundsFlagAsTheComputedOnes(Activation act)
    {
        var rng = new Random(7 + (int)act.Kind);
        var p = ActivationParams.From(act);
        foreach (int len in new[] { 1, 3, 4, 7, 8, 15, 16, 17, 33, 100, 257 })
            foreach (double mag in new[] { 1e-6, 1.0, 1e6 })
                for (int round = 0; round < 6; round++)
                {
                    var dot = new int[len];
                    for (int i = 0; i < len; i++) dot[i] = rng.Next(8) == 0 ? 0 : rng.Next(-3_000_000, 3_000_000);
                    float scale = (float)(rng.NextDouble() * 1e-6 * mag), bias = (float)((rng.NextDouble() * 2 - 1) * mag);
                    if (round == 5) scale = 1e32f; // s_hat overflows: the vector loops stop there, the scalar test takes the rest
                    float diff = (float)(rng.NextDouble() * 1e-4), l1 = (float)(rng.NextDouble() * 10), l2 = (float)(rng.NextDouble() * 2);
                    double sx = 0.02 * mag, emax = 0.01 * mag, xl1 = 50 * mag;
                    bool rigorous = round % 2 == 1;
                    // The reference: I8Bounds.Scalar on arrays of the channel's constants, then the scalar test.
                    float[] Fill(float v) { var a = new float[len]; Array.Fill(a, v); return a; }
                    var row = new I8Bounds.Row(Fill(scale), Fill(bias), Fill(diff), Fill(l1), Fill(l2));
                    var s = new float[len]; var bRig = new double[len]; var bFlag = new double[len];
                    I8Bounds.Scalar(dot, in row, sx, emax, xl1, rigorous, s, bRig, bFlag);
                    var kappa = new float[len];
                    ActivationMath.Kappa(act, in p, s, kappa);
                    // tau and tau_negative on the exact prediction and guard ratio of some component (or none).
                    int at = rng.Next(len);
                    double pred = kappa[at] == 0 || bFlag[at] == 0 ? 0 : kappa[at] * bFlag[at] / Math.Abs(s[at]);
                    double dist = FlagTest.Kinks(act).Distance(s[at]);
                    double tau = round switch { 0 => double.PositiveInfinity, 1 => pred, 2 => pred * (1 - 1e-15), _ => pred * 0.5 };
                    double tauNeg = round switch { 0 => double.PositiveInfinity, 1 => 4, 2 => dist > 0 && double.IsFinite(dist) ? bFlag[at] / dist : 1, _ => 1 };
                    var kinks = FlagTest.Kinks(act);
                    var want = new List<int>(); double maxWant = 0;
                    for (int i = 0; i < len; i++)
                    {
                        if (!float.IsFinite(s[i])) { want.Add(i); continue; } // the engine flags non-finite results itself
                        bool f = FlagTest.Flags(in kinks, s[i], kappa[i], bFlag[i], tau, tauNeg, out double pr);
                        if (f) want.Add(i); else if (pr > maxWant) maxWant = pr;
                    }
                    foreach (int width in LaneWidth.Supported())
                        foreach (int source in FlagKappa.Of(act) != FlagKappaKind.Row ? new[] { 0, 1, 2 } : [0])
                    {
                        bool inLoop = source > 0;
                        var plan = new FlagPlan(in kinks, tau, tauNeg);
                        var bf = new double[len];
                        var cb = new ChannelBound(dot, scale, bias, diff, l1, l2, sx, emax, xl1, rigorous, width, new float[16], bf);
                        var rows = new int[len]; int n = 0; double max = 0;
                        // Source 2: the band's thresholds on s in front of the screen (the engine's form).
                        var band = source == 2 ? FlagBand.For(in act, in p, in plan) : FlagBand.Off;
                        if (source == 2) { Assert.Equal(!double.IsNaN(tau) && !double.IsNaN(tauNeg), band.On); band.Row(cb.C, cb.CHi, ChannelBound.AHi, Math.Min(tau, max)); }
                        // The engine's two kappa sources: the computed row, or enclosed from s in the loop (the row
                        // then holds kappa only where the exact test needed it; the tail computes the rest).
                        var k = inLoop ? new float[len] : kappa;
                        int stop;
                        if (inLoop)
                        {
                            switch (FlagKappa.Of(act))
                            {
                                case FlagKappaKind.Unit: { var kp = new UnitKappa(k); stop = FlagTest.FlagsVector(in plan, s, ref kp, ref cb, ref band, rows, ref n, ref max, width); break; }
                                case FlagKappaKind.Sign: { var kp = new SignKappa(s, k); stop = FlagTest.FlagsVector(in plan, s, ref kp, ref cb, ref band, rows, ref n, ref max, width); break; }
                                default: { var kp = new ClampKappa(in act, in p, s, k); stop = FlagTest.FlagsVector(in plan, s, ref kp, ref cb, ref band, rows, ref n, ref max, width); break; }
                            }
                            ActivationMath.Kappa(act, in p, s.AsSpan(stop), k.AsSpan(stop));
                        }
                        else
                        {
                            var ks = new SpanKappa(k);
                            stop = FlagTest.FlagsVector(in plan, s, ref ks, ref cb, rows, ref n, ref max, width);
                        }
                        if (stop < len) cb.Exact(stop, len - stop);
                        for (int i = stop; i < len; i++)
                        {
                            Assert.Equal(bFlag[i], bf[i]); // the tail's bounds, as the scalar test reads them
                            if (!float.IsFinite(s[i])) { rows[n++] = i; continue; }
                            bool f = FlagTest.Flags(in kinks, s[i], k[i], bf[i], tau, tauNeg, out double pr);
                            if (f) rows[n++] = i; else if (pr > max) max = pr;
                        }
                        string where = $"{act} len {len} mag {mag} round {round} width {width} kappa {(inLoop ? "in the loop" : "row")}{(source == 2 ? " with the band" : "")}";
                        Assert.True(want.SequenceEqual(rows.Take(n)), $"{where}: flagged [{string.Join(",", rows.Take(n))}] vs [{string.Join(",", want)}]");
                        Assert.True(maxWant == max, $"{where}: max prediction {max:R} vs {maxWant:R}");
                    }
                }
    }
}
