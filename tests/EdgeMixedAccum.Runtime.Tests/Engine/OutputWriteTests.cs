using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Runtime.Engine;
using static EdgeMixedAccum.Runtime.Tests.Engine.SessionTests;

namespace EdgeMixedAccum.Runtime.Tests.Engine;

/// <summary>
/// The output write (docs/engine.md): a layer applies its activation to each finished row and, when the next step is
/// an int8 layer reading its output under a static scale, quantises that input there. The reference is the same
/// session with the fusion off (the next layer quantises its whole input in its own pass): same int8 input, e_max
/// and finiteness bit for bit, ||x||_1 to its summation order, and the same outputs, flags and predictions.
/// </summary>
public class OutputWriteTests
{
    /// <summary>Conv (pads, LeakyReLU+clamp) -> Conv (ReLU) -> MaxPool -> Conv (groups 2, tanh) -> Flatten -> Dense
    /// (tanh) -> Dense -> Dense (fp32 plan). With static scales: Conv1 feeds Conv2, Conv3 feeds Dense1 through the
    /// Flatten alias, Dense1 feeds Dense2; Conv2 (a pool follows) and Dense2 (the next layer is fp32) do not.</summary>
    private static EmaModel Chain(int seed, float scale, int channels = 6)
    {
        var r = new Random(seed);
        var b = new GraphBuilder();
        LayerPlan Plan(float s) => new(Precision.I8, 0.01f, EstimatorKind.RowNorm, 0, 1f, s);
        int x = b.Input("x", Shapes.Batch, 3, 11, 9);
        x = b.Conv(x, Weights(r, TensorDType.Int8, channels, 3, 3, 3), Bias(r, channels), pads: [1, 1, 1, 1],
            activation: Activation.LeakyReluClip(0.1f, -0.5f, 1.5f), plan: Plan(scale), name: "c1");
        x = b.Conv(x, Weights(r, TensorDType.Int8, 8, channels, 1, 3), Bias(r, 8), pads: [0, 1, 0, 1], activation: Activation.Relu, plan: Plan(scale), name: "c2");
        x = b.MaxPool(x, [2, 2], strides: [2, 2]);
        x = b.Conv(x, Weights(r, TensorDType.Int8, 6, 4, 2, 2), Bias(r, 6), groups: 2, activation: Activation.Tanh, plan: Plan(scale), name: "c3");
        x = b.Flatten(x);
        x = b.Dense(x, Weights(r, TensorDType.Int8, 17, 72), Bias(r, 17), Activation.Tanh, Plan(scale), "d1");
        x = b.Dense(x, Weights(r, TensorDType.Int8, 9, 17), Bias(r, 9), Activation.Identity, Plan(0.8f * scale), "d2");
        x = b.Dense(x, Weights(r, TensorDType.Float32, 4, 9), Bias(r, 4), Activation.Identity, LayerPlan.Fp32, "head");
        b.Output(x);
        return new EmaModel(new ModelMetadata { ModelName = "chain" }, b.Graph);
    }

    private static readonly (RunMode Mode, float? Tau)[] Modes = [(RunMode.F32, null), (RunMode.I8, null), (RunMode.Adaptive, 0.05f), (RunMode.Adaptive, 1e-3f)];

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void FusedWriteEqualsTheSeparatePass(int batch)
    {
        var m = Chain(11, 0.02f);
        var input = Inputs(5, batch * 3 * 11 * 9, 2);
        foreach (var (mode, tau) in Modes)
        {
            var o = new SessionOptions { Mode = mode, Tau = tau, MaxBatch = batch };
            using var fused = new Session(m, o);
            using var plain = new Session(m, o with { FuseOutputWrite = false });
            bool low = mode != RunMode.F32; // fp32 mode has no int8 input to feed
            Assert.Equal([low, false, low, low, false, false], fused.Layers.Select(l => l.Feeds));
            Assert.All(plain.Layers, l => Assert.False(l.Feeds));
            // Twice: the second run must not take the first run's fed input as its own.
            for (int run = 0; run < 2; run++)
            {
                var x = run == 0 ? input : input.Select(v => -0.7f * v).ToArray();
                Compare(fused, plain, x, batch, $"{mode} tau {tau} batch {batch} run {run}");
            }
        }
    }

    [Fact]
    public void WorkerLanesFeedAsTheCallerDoes()
    {
        // Threads = 2: each worker lane is an inner session with its own layer steps and links; a batch of 5 splits
        // 3 + 2. Outputs equal the one-thread session's without the fusion, bit for bit.
        var m = Chain(14, 0.02f);
        var input = Inputs(8, 5 * 3 * 11 * 9, 2);
        var o = new SessionOptions { Mode = RunMode.Adaptive, Tau = 0.05f, MaxBatch = 5 };
        using var threaded = new Session(m, o with { Threads = 2 });
        using var plain = new Session(m, o with { FuseOutputWrite = false });
        var y1 = new float[5 * threaded.OutputLength];
        var y2 = new float[5 * plain.OutputLength];
        threaded.Run(input, y1, 5);
        plain.Run(input, y2, 5);
        Assert.True(y1.Select(BitConverter.SingleToInt32Bits).SequenceEqual(y2.Select(BitConverter.SingleToInt32Bits)), "outputs differ");
        Assert.Equal(plain.LastReport.Layers.Sum(l => l.Flagged), threaded.LastReport.Layers.Sum(l => l.Flagged));
        Assert.Contains(threaded.Layers, l => l.Feeds);
    }

    [Fact]
    public void NonFiniteRowsClearTheFedInput()
    {
        // Inputs of 1e38 overflow the first conv's sums to +-inf (clamped by LeakyReLU+clamp to finite values, so
        // the second conv sees finite inputs), and a NaN input propagates to every component it touches: the fed
        // layers see non-finite rows in some samples only.
        var m = Chain(12, 0.02f);
        int per = 3 * 11 * 9;
        var input = Inputs(6, 4 * per, 2);
        input[per + 40] = float.NaN;
        input[2 * per + 7] = 1e38f; input[2 * per + 8] = -1e38f;
        input[3 * per + 100] = float.PositiveInfinity;
        foreach (var (mode, tau) in Modes)
        {
            var o = new SessionOptions { Mode = mode, Tau = tau, MaxBatch = 4, RejectNonFiniteInput = false };
            using var fused = new Session(m, o);
            using var plain = new Session(m, o with { FuseOutputWrite = false });
            Compare(fused, plain, input, 4, $"{mode} tau {tau}");
            if (mode != RunMode.F32) Assert.Contains(fused.Layers, l => l.Feeds && !l.InputStatsOf(1).Finite);
        }
    }

    [Fact]
    public void DynamicScalesAndF16AccLayersAreNotFed()
    {
        using (var s = new Session(Chain(13, 0f), new SessionOptions { Mode = RunMode.I8 }))
            Assert.All(s.Layers, l => Assert.False(l.Feeds)); // max |x| / 127 needs the whole input first
        using (var s = new Session(Chain(13, 0.02f), new SessionOptions { Mode = RunMode.F16Acc }))
            Assert.All(s.Layers, l => Assert.False(l.Feeds));
        using (var s = new Session(Chain(13, 0.02f), new SessionOptions { Mode = RunMode.Adaptive, Low = Precision.F16Acc }))
            Assert.All(s.Layers, l => Assert.False(l.Feeds));
    }

    private static void Compare(Session fused, Session plain, float[] x, int batch, string where)
    {
        var y1 = new float[batch * fused.OutputLength];
        var y2 = new float[batch * plain.OutputLength];
        fused.Run(x, y1, batch);
        plain.Run(x, y2, batch);
        Assert.True(y1.Select(BitConverter.SingleToInt32Bits).SequenceEqual(y2.Select(BitConverter.SingleToInt32Bits)), $"{where}: outputs differ");
        for (int i = 0; i < fused.Layers.Count; i++)
        {
            var (a, b) = (fused.Layers[i], plain.Layers[i]);
            string at = $"{where}, layer {a.Node.Name}";
            Assert.True(a.Report.Flagged == b.Report.Flagged, $"{at}: flagged {a.Report.Flagged} vs {b.Report.Flagged}");
            Assert.True(a.Report.NonFinite == b.Report.NonFinite, $"{at}: non-finite {a.Report.NonFinite} vs {b.Report.NonFinite}");
            Assert.True(a.Report.MaxPredictedRelError == b.Report.MaxPredictedRelError, $"{at}: max prediction");
            if (a.Precision != Precision.I8) continue;
            for (int n = 0; n < batch; n++)
            {
                var (sa, sb) = (a.InputStatsOf(n), b.InputStatsOf(n));
                Assert.True(sa.Finite == sb.Finite && sa.Scale == sb.Scale && sa.EMax == sb.EMax, $"{at}, sample {n}: stats {sa} vs {sb}");
                Assert.True(Math.Abs(sa.L1 - sb.L1) <= 1e-15 * sb.L1, $"{at}, sample {n}: ||x||_1 {sa.L1:R} vs {sb.L1:R}");
                Assert.True(a.QuantizedInput(n).SequenceEqual(b.QuantizedInput(n)), $"{at}, sample {n}: int8 inputs differ");
            }
        }
    }
}
