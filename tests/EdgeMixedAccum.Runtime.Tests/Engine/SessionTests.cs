using EdgeMixedAccum.Activations;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Reference;
using EdgeMixedAccum.Runtime.Engine;
using EdgeMixedAccum.Runtime.Kernels;
using EdgeMixedAccum.Tests;

namespace EdgeMixedAccum.Runtime.Tests.Engine;

/// <summary>
/// The Algorithm 1 engine against independent references: the fp64 reference executor (ReferenceOps), the
/// engine's own fp32 mode, and the rigorous bounds checked by BoundAudit on every low-pass component.
/// Models are small random nets built in code (Dense, Conv 1D/2D with pads/strides/groups, pools, Add).
/// </summary>
public class SessionTests
{
    /// <summary>fp32 mode against fp64: each output within gamma_n(2^-24) of the exact value scaled by
    /// the output magnitude, compounded over at most four layers: a named budget, not a tuned constant.</summary>
    private const double F32Budget = 1e-4;

    private static int _names;
    private static string Name(string prefix) => $"{prefix}{Interlocked.Increment(ref _names)}";

    internal static TensorData Weights(Random r, TensorDType dtype, params int[] shape)
    {
        long n = 1; foreach (var d in shape) n *= d;
        var v = new float[n];
        int fanIn = (int)(n / shape[0]);
        for (int i = 0; i < n; i++) v[i] = (float)((r.NextDouble() * 2 - 1) * 2 / Math.Sqrt(fanIn));
        if (dtype == TensorDType.Float32) return TensorData.FromFloat32(Name("w"), shape, v);
        if (dtype == TensorDType.Float16) return TensorData.FromFloat16(Name("w"), shape, v.Select(f => (Half)f).ToArray());
        int len = (int)(n / shape[0]);
        var q = new sbyte[n]; var s = new float[shape[0]];
        for (int i = 0; i < shape[0]; i++)
        {
            float max = 0;
            for (int j = 0; j < len; j++) max = Math.Max(max, Math.Abs(v[i * len + j]));
            s[i] = max / 127f;
            for (int j = 0; j < len; j++) q[i * len + j] = (sbyte)Math.Round(v[i * len + j] / s[i]);
        }
        return TensorData.FromInt8(Name("w"), shape, q, s);
    }

    internal static TensorData Bias(Random r, int m) =>
        TensorData.FromFloat32(Name("b"), [m], Enumerable.Range(0, m).Select(_ => (float)(r.NextDouble() - 0.5) * 0.2f).ToArray());

    /// <summary>An MLP 37 -> 53 (act) -> 29 (act) -> 7 with every low layer planned in <paramref name="low"/>.</summary>
    internal static EmaModel Mlp(int seed, Precision low, TensorDType dtype, Activation act, float tau = 0.01f,
        EstimatorKind est = EstimatorKind.RowNorm, float inputScale = 0)
    {
        var r = new Random(seed);
        var b = new GraphBuilder();
        var plan = new LayerPlan(low, tau, est, est == EstimatorKind.Blocked ? 16 : 0, 1f, low == Precision.I8 ? inputScale : 0);
        int x = b.Input("x", Shapes.Batch, 37);
        x = b.Dense(x, Weights(r, dtype, 53, 37), Bias(r, 53), act, plan, "d1");
        x = b.Dense(x, Weights(r, dtype, 29, 53), Bias(r, 29), act, plan with { InputScale = 0 }, "d2");
        x = b.Dense(x, Weights(r, dtype, 7, 29), Bias(r, 7), Activation.Identity, plan with { InputScale = 0 }, "d3");
        b.Output(x);
        return new EmaModel(new ModelMetadata { ModelName = "mlp" }, b.Graph);
    }

    /// <summary>Conv 2D (pads, stride 2) -> MaxPool -> grouped Conv (dilation) -> Add(channel bias) -> GAP -> Flatten -> Dense.</summary>
    internal static EmaModel Cnn(int seed, Precision low, TensorDType dtype, float tau = 0.01f, EstimatorKind est = EstimatorKind.Fused)
    {
        var r = new Random(seed);
        var b = new GraphBuilder();
        var plan = new LayerPlan(low, tau, est, est == EstimatorKind.Blocked ? 8 : 0, 1f);
        int x = b.Input("x", Shapes.Batch, 3, 13, 11);
        x = b.Conv(x, Weights(r, dtype, 8, 3, 3, 3), Bias(r, 8), strides: [2, 1], pads: [1, 0, 2, 1], activation: Activation.Relu, plan: plan, name: "c1");
        x = b.MaxPool(x, [2, 2], strides: [1, 1]);
        x = b.Conv(x, Weights(r, dtype, 6, 4, 2, 3), null, dilations: [2, 1], groups: 2, activation: Activation.Tanh, plan: plan, name: "c2");
        x = b.Add(x, b.Constant(TensorData.FromFloat32("cb", [6, 1, 1], [0.1f, -0.2f, 0.3f, 0f, 0.05f, -0.1f])));
        x = b.GlobalAveragePool(x);
        x = b.Flatten(x);
        x = b.Dense(x, Weights(r, dtype, 5, 6), Bias(r, 5), Activation.Identity, plan, "head");
        b.Output(x);
        return new EmaModel(new ModelMetadata { ModelName = "cnn" }, b.Graph);
    }

    /// <summary>A 1D conv net (the IMU shape): Conv1D k=5 pad 2 -> ReLU -> Conv1D stride 2 -> Flatten -> Dense.</summary>
    internal static EmaModel Conv1d(int seed, Precision low, TensorDType dtype)
    {
        var r = new Random(seed);
        var b = new GraphBuilder();
        var plan = new LayerPlan(low, 0.01f, EstimatorKind.RowNorm, 0, 1f);
        int x = b.Input("x", Shapes.Batch, 6, 24);
        x = b.Conv(x, Weights(r, dtype, 9, 6, 5), Bias(r, 9), pads: [2, 2], activation: Activation.Relu, plan: plan, name: "k1");
        x = b.Conv(x, Weights(r, dtype, 4, 9, 3), Bias(r, 4), strides: [2], activation: Activation.LeakyRelu(0.1f), plan: plan, name: "k2");
        x = b.Flatten(x);
        x = b.Dense(x, Weights(r, dtype, 3, 44), Bias(r, 3), Activation.Identity, plan, "head");
        b.Output(x);
        return new EmaModel(new ModelMetadata { ModelName = "conv1d" }, b.Graph);
    }

    /// <summary>Convs whose output does not fit one tile of the panel path (k = 72: 896 positions per tile, 1,600
    /// positions), so tiles start mid-row; then a 3x1 conv with stride (2, 1), and a head.</summary>
    internal static EmaModel CnnTiles(int seed, Precision low, TensorDType dtype)
    {
        var r = new Random(seed);
        var b = new GraphBuilder();
        var plan = new LayerPlan(low, 0.01f, EstimatorKind.RowNorm, 0, 1f);
        int x = b.Input("x", Shapes.Batch, 8, 40, 40);
        x = b.Conv(x, Weights(r, dtype, 12, 8, 3, 3), Bias(r, 12), pads: [1, 1, 1, 1], activation: Activation.Relu, plan: plan, name: "t1");
        x = b.Conv(x, Weights(r, dtype, 5, 12, 3, 1), Bias(r, 5), strides: [2, 1], activation: Activation.Tanh, plan: plan, name: "t2");
        x = b.Flatten(x);
        x = b.Dense(x, Weights(r, dtype, 4, 5 * 19 * 40), Bias(r, 4), Activation.Identity, plan, "head");
        b.Output(x);
        return new EmaModel(new ModelMetadata { ModelName = "cnn-tiles" }, b.Graph);
    }

    internal static float[] Inputs(int seed, int count, double scale = 1)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)((r.NextDouble() * 2 - 1) * scale)).ToArray();
    }

    public static TheoryData<string> Models => new() { "mlp-i8", "mlp-f16", "mlp-i8-from-f32", "mlp-f16-from-i8", "cnn-i8", "cnn-f16", "conv1d-i8", "conv1d-f16", "cnn-tiles-i8" };

    internal static EmaModel Build(string name, float tau = 0.01f) => name switch
    {
        "mlp-i8" => Mlp(1, Precision.I8, TensorDType.Int8, Activation.Relu, tau),
        "mlp-f16" => Mlp(2, Precision.F16Acc, TensorDType.Float16, Activation.Tanh, tau, EstimatorKind.Fused),
        "mlp-i8-from-f32" => Mlp(3, Precision.I8, TensorDType.Float32, Activation.Gelu, tau, EstimatorKind.RowNorm, inputScale: 0.004f),
        "mlp-f16-from-i8" => Mlp(4, Precision.F16Acc, TensorDType.Int8, Activation.Relu6, tau, EstimatorKind.Blocked),
        "cnn-i8" => Cnn(5, Precision.I8, TensorDType.Int8, tau),
        "cnn-f16" => Cnn(6, Precision.F16Acc, TensorDType.Float16, tau, EstimatorKind.Blocked),
        "conv1d-i8" => Conv1d(7, Precision.I8, TensorDType.Int8),
        "conv1d-f16" => Conv1d(8, Precision.F16Acc, TensorDType.Int8),
        "cnn-tiles-i8" => CnnTiles(9, Precision.I8, TensorDType.Int8),
        _ => throw new ArgumentException(name),
    };

    [Theory, MemberData(nameof(Models))]
    public void F32ModeMatchesTheFp64Reference(string name)
    {
        var m = Build(name);
        using var s = new Session(m, new SessionOptions { Mode = RunMode.F32, MaxBatch = 4 });
        var x = Inputs(11, 4 * s.InputLength);
        var y = new float[4 * s.OutputLength];
        s.Run(x, y, 4);
        var reference = ReferenceExecutor.Run<double>(m, (x, Shapes.Resolve(m.Graph.Values[m.Graph.Inputs[0]].Shape, 4)))[0].Data;
        double scale = reference.Max(Math.Abs);
        for (int i = 0; i < y.Length; i++) Assert.True(Math.Abs(y[i] - reference[i]) <= F32Budget * scale, $"{name} [{i}]: {y[i]} vs {reference[i]}");
        Assert.Equal(1.0, s.LastReport.RecomputeFraction);
    }

    [Theory, MemberData(nameof(Models))]
    public void NoLowPassComponentExceedsItsRigorousBound(string name)
    {
        var m = Build(name);
        foreach (var mode in new[] { RunMode.I8, RunMode.F16Acc, RunMode.Adaptive })
            foreach (var bound in new[] { FlagBound.Probabilistic, FlagBound.Rigorous })
                foreach (double scale in new[] { 1.0, 1e-3, 300.0 })
                {
                    using var s = new Session(m, new SessionOptions { Mode = mode, FlagBound = bound, Trace = true, MaxBatch = 3 });
                    var x = Inputs(12, 3 * s.InputLength, scale);
                    s.Run(x, new float[3 * s.OutputLength], 3);
                    long checkedCount = 0;
                    foreach (var a in BoundAudit.Check(s))
                    {
                        Assert.True(a.Violations == 0, $"{name} {mode} {bound} x{scale}: layer {a.Name}: {a.Violations} of {a.Checked} over the bound (worst ratio {a.MaxErrorToBound})");
                        checkedCount += a.Checked;
                    }
                    Assert.True(checkedCount > 0, "the audit must check something");
                }
    }

    [Theory, MemberData(nameof(Models))]
    public void AdaptiveAtTauZeroWithoutKinksEqualsF32(string name)
    {
        // tau = 0 flags every component with a nonzero predicted error; with the sign guard at 0 too, a ReLU
        // component is flagged whenever its bound is positive. Recompute uses the fp32 mode's kernel and order,
        // so the outputs must be bit-identical to fp32 mode.
        var m = Build(name);
        using var f32 = new Session(m, new SessionOptions { Mode = RunMode.F32 });
        using var ad = new Session(m, new SessionOptions { Mode = RunMode.Adaptive, Tau = 0, TauNegative = 0, Low = null });
        var x = Inputs(13, f32.InputLength);
        var a = new float[f32.OutputLength]; var b = new float[f32.OutputLength];
        f32.Run(x, a); ad.Run(x, b);
        Assert.Equal(a, b);
    }

    public static TheoryData<int, int, int> ConvShapes() => new()
    {
        { 1, 1, 1 },   // groups, stride, dilation: the plain 3x3 conv (k = 144)
        { 2, 1, 1 },   // two groups of 8 channels (the dot's channels padded 8 -> 16, offsets per group)
        { 1, 2, 2 },   // strided and dilated: taps in the padding on both sides
        { 16, 1, 1 },  // depthwise (k = 9: the cost rule keeps its rows on f32-gemm-nn)
    };

    [Theory, MemberData(nameof(ConvShapes))]
    public void ConvRecomputeAtAnyShareIsFp32AtTheFlaggedPositions(int groups, int stride, int dilation)
    {
        // One int8 conv layer, so its outputs are the model's: at every tau, each unflagged component carries its
        // low-pass value and each flagged one an fp32 result: fp32 mode's bits (whole tile or whole row through
        // f32-gemm-nn, or scalar chains in its order), or f32-dot-taps' lane order, within the fp32 budget
        // gamma_k(2^-24) sum|w||x| (plus the bias add) of the fp64 value of the same fp32 weights and inputs.
        // The taus span sparse to dense flags; the plain conv's 34 x 46 positions are four tiles (k = 144).
        var r = new Random(41);
        var b = new GraphBuilder();
        int x = b.Input("x", Shapes.Batch, 16, 34, 46);
        int outCh = groups == 1 ? 7 : groups == 2 ? 16 : 2 * groups;
        x = b.Conv(x, Weights(r, TensorDType.Int8, outCh, 16 / groups, 3, 3), Bias(r, outCh), strides: [stride, stride], pads: [1, 2, 1, 0],
            dilations: [dilation, dilation], groups: groups, activation: Activation.Identity,
            plan: new LayerPlan(Precision.I8, 0.01f, EstimatorKind.RowNorm, 0, 1f), name: "c");
        b.Output(x);
        var m = new EmaModel(new ModelMetadata { ModelName = "one-conv" }, b.Graph);
        using var f32 = new Session(m, new SessionOptions { Mode = RunMode.F32 });
        var input = Inputs(43, f32.InputLength);
        var want = new float[f32.OutputLength];
        f32.Run(input, want);
        var shares = new List<double>();
        long dots = 0, offF32 = 0;
        foreach (float tau in new[] { 10f, 1f, 0.3f, 0.2f, 0.15f, 0.1f, 0.03f, 1e-3f })
        {
            using var ad = new Session(m, new SessionOptions { Mode = RunMode.Adaptive, Tau = tau, Trace = true });
            var got = new float[ad.OutputLength];
            ad.Run(input, got);
            var layer = ad.Layers[0];
            var g = layer.Geometry;
            var patch = new float[g.K];
            int flagged = 0;
            for (int i = 0; i < got.Length; i++)
            {
                if (!layer.TraceFlagged[i]) { Assert.Equal(layer.TraceLow[i], got[i]); continue; }
                flagged++;
                if (BitConverter.SingleToInt32Bits(want[i]) == BitConverter.SingleToInt32Bits(got[i])) continue;
                offF32++;
                int ch = i / g.Positions, p = i % g.Positions;
                g.Gather<float>(input, patch, ch / (outCh / groups), p / g.OW, p % g.OW);
                double exact = layer.Weights.Bias[ch], sumAbs = 0;
                for (int j = 0; j < g.K; j++)
                {
                    double prod = (double)layer.Weights.W32[ch * g.K + j] * patch[j];
                    exact += prod; sumAbs += Math.Abs(prod);
                }
                double budget = F32GemvRowsGolden.Budget(g.K, sumAbs) + Math.Abs(exact) * Math.ScaleB(1, -23);
                Assert.True(Math.Abs(got[i] - exact) <= budget, $"tau {tau}: component {i} = {got[i]:R}, fp64 {exact:R}, error {Math.Abs(got[i] - exact):G3} > {budget:G3}");
            }
            shares.Add((double)flagged / got.Length);
            dots += layer.DotRecomputes;
        }
        string all = string.Join(", ", shares.Select(f => f.ToString("P1")));
        Assert.True(shares.Any(f => f > 0 && f < 0.1), $"no sparse share (the flagged-positions path): {all}");
        Assert.True(shares.Any(f => f > 0.5), $"no dense share (the whole-tile path): {all}");
        if (groups == 16) return;
        Assert.True(dots > 0, $"f32-dot-taps never ran: {all}");
        Assert.True(offF32 > 0, "no dot result differs from fp32 mode's bits: the budget branch was never checked");
    }

    public static TheoryData<int, Activation> UntracedConvs() => new()
    {
        { 1, Activation.Relu }, { 1, Activation.LeakyReluClip(0.2f, -0.5f, 0.8f) }, { 2, Activation.Tanh }, { 16, Activation.Identity },
    };

    [Theory, MemberData(nameof(UntracedConvs))]
    public void UntracedConvFlagsAsTheTracedOne(int groups, Activation act)
    {
        // Untraced int8 conv rows never store their double flag bounds: the flag test encloses them in float from
        // |s_hat| (ChannelBound) and computes them only where its screen cannot decide. A traced session computes
        // every bound first (the trace records them). Same outputs, flags and reported maxima, in i8 and adaptive
        // mode from sparse to dense flags, at both flag-bound kinds.
        var r = new Random(5 + groups);
        var b = new GraphBuilder();
        int x = b.Input("x", Shapes.Batch, 16, 21, 30);
        x = b.Conv(x, Weights(r, TensorDType.Int8, 32, 16 / groups, 3, 3), Bias(r, 32), pads: [1, 1, 1, 1], groups: groups,
            activation: act, plan: new LayerPlan(Precision.I8, 0.01f, EstimatorKind.RowNorm, 0, 1f), name: "c");
        b.Output(x);
        var m = new EmaModel(new ModelMetadata { ModelName = "one-conv" }, b.Graph);
        var input = Inputs(47, 2 * 16 * 21 * 30);
        foreach (var bound in new[] { FlagBound.Probabilistic, FlagBound.Rigorous })
            foreach (var (mode, tau) in new[] { (RunMode.I8, 0f), (RunMode.Adaptive, 1f), (RunMode.Adaptive, 0.05f), (RunMode.Adaptive, 1e-3f) })
            {
                var o = new SessionOptions { Mode = mode, Tau = mode == RunMode.Adaptive ? tau : null, FlagBound = bound, MaxBatch = 2 };
                using var plain = new Session(m, o);
                using var traced = new Session(m, o with { Trace = true });
                var y1 = new float[2 * plain.OutputLength]; var y2 = new float[2 * plain.OutputLength];
                plain.Run(input, y1, 2);
                traced.Run(input, y2, 2);
                string where = $"groups {groups} {act} {bound} {mode} tau {tau}";
                Assert.True(y1.Select(BitConverter.SingleToInt32Bits).SequenceEqual(y2.Select(BitConverter.SingleToInt32Bits)), $"{where}: outputs differ");
                var (l1, l2) = (plain.LastReport.Layers[0], traced.LastReport.Layers[0]);
                Assert.True(l1.Flagged == l2.Flagged, $"{where}: flagged {l1.Flagged} vs traced {l2.Flagged}");
                Assert.True(l1.MaxPredictedRelError == l2.MaxPredictedRelError, $"{where}: max prediction {l1.MaxPredictedRelError:R} vs traced {l2.MaxPredictedRelError:R}");
                if (mode == RunMode.Adaptive && tau == 0.05f) Assert.InRange(l1.Flagged, 1, l1.Components - 1);
            }
    }

    [Theory, MemberData(nameof(Models))]
    public void AdaptiveLowersTheErrorOfUniformLowPrecision(string name)
    {
        var m = Build(name, tau: 0.001f);
        var low = m.Graph.Nodes.OfType<LayerNode>().First().Plan.Precision;
        using var uniform = new Session(m, new SessionOptions { Mode = low == Precision.I8 ? RunMode.I8 : RunMode.F16Acc });
        using var ad = new Session(m, new SessionOptions { Mode = RunMode.Adaptive });
        double eu = 0, ea = 0;
        for (int t = 0; t < 8; t++)
        {
            var x = Inputs(100 + t, uniform.InputLength);
            var reference = ReferenceExecutor.Run<double>(m, (x, Shapes.Resolve(m.Graph.Values[m.Graph.Inputs[0]].Shape, 1)))[0].Data;
            var yu = new float[uniform.OutputLength]; var ya = new float[uniform.OutputLength];
            uniform.Run(x, yu); ad.Run(x, ya);
            for (int i = 0; i < yu.Length; i++) { eu += Math.Abs(yu[i] - reference[i]); ea += Math.Abs(ya[i] - reference[i]); }
            Assert.InRange(ad.LastReport.RecomputeFraction, 0, 1);
        }
        Assert.True(ea < eu, $"{name}: adaptive error {ea} is not below uniform {eu}");
    }

    /// <summary>
    /// An int8 Dense layer with tanh takes phi of its low results from the pass that computed kappa (one exp per
    /// component) and applies phi again only to the components it recomputed. Each output must be tanh of the traced
    /// low sum, bit for bit, where not flagged, and within the fp32 budget of tanh of the fp64 sum where flagged (tanh is
    /// 1-Lipschitz; plus its own float rounding): tanh of the low sum there would be off by the int8 error. Batch 1
    /// (one unit at a time) and batch 5 (the block path that recomputes hot rows by one GEMM), sparse to dense flags.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public void DenseTanhOutputsArePhiOfTheLowOrOfTheRecomputedSum(int batch)
    {
        var r = new Random(29);
        var b = new GraphBuilder();
        const int k = 67, m = 37;
        int x = b.Input("x", Shapes.Batch, k);
        x = b.Dense(x, Weights(r, TensorDType.Int8, m, k), Bias(r, m), Activation.Tanh, new LayerPlan(Precision.I8, 0.01f, EstimatorKind.RowNorm, 0, 1f), "d");
        b.Output(x);
        var model = new EmaModel(new ModelMetadata { ModelName = "dense-tanh" }, b.Graph);
        var input = Inputs(31, batch * k, 0.3);
        var tanhParams = ActivationParams.From(Activation.Tanh);
        int flaggedSeen = 0, quietSeen = 0;
        foreach (float tau in new[] { 1f, 0.05f, 0.01f, 1e-4f })
        {
            using var ad = new Session(model, new SessionOptions { Mode = RunMode.Adaptive, Tau = tau, Trace = true, MaxBatch = batch });
            var got = new float[batch * m];
            ad.Run(input, got, batch);
            var layer = ad.Layers[0];
            var one = new float[1];
            for (int i = 0; i < got.Length; i++)
            {
                if (!layer.TraceFlagged[i])
                {
                    ActivationMath.Apply(Activation.Tanh, in tanhParams, [layer.TraceLow[i]], one);
                    Assert.Equal(BitConverter.SingleToInt32Bits(one[0]), BitConverter.SingleToInt32Bits(got[i]));
                    quietSeen++;
                    continue;
                }
                flaggedSeen++;
                int n = i / m, row = i % m;
                double exact = layer.Weights.Bias[row], sumAbs = 0;
                for (int j = 0; j < k; j++)
                {
                    double prod = (double)layer.Weights.W32[row * k + j] * input[n * k + j];
                    exact += prod; sumAbs += Math.Abs(prod);
                }
                double budget = F32GemvRowsGolden.Budget(k, sumAbs) + Math.Abs(exact) * Math.ScaleB(1, -23) + Math.ScaleB(1, -22);
                double err = Math.Abs(got[i] - Math.Tanh(exact));
                Assert.True(err <= budget, $"tau {tau}: output {i} = {got[i]:R}, tanh(fp64 sum) {Math.Tanh(exact):R}, error {err:G3} > {budget:G3}");
            }
        }
        Assert.True(flaggedSeen > 0 && quietSeen > 0, $"flagged {flaggedSeen}, quiet {quietSeen}: the taus must give both");
    }

    [Theory]
    [InlineData("mlp-i8", 0.01f)]
    [InlineData("mlp-i8", 0.001f)]
    [InlineData("mlp-i8-from-f32", 0.002f)]
    public void BlockRecomputeOfHotRowsEqualsOneSampleRuns(string name, float tau)
    {
        // A batch of 40 adaptive int8 Dense units recomputes the weight rows flagged in a third of a block's units by
        // one f32-gemm call for the whole block, the rest per unit by f32-gemv-rows; single-sample runs take the
        // GEMV for every flag. Same order, so the same bits, flags and reported maxima.
        var m = Build(name, tau);
        using var s = new Session(m, new SessionOptions { Mode = RunMode.Adaptive, MaxBatch = 40, Trace = true });
        var x = Inputs(17, 40 * s.InputLength);
        var batched = new float[40 * s.OutputLength];
        s.Run(x, batched, 40);
        long hot = s.Layers.Sum(l => l.HotRowBlocks);
        var flagsBatched = s.Layers.Select(l => l.TraceFlagged[..(40 * l.OutSample)].ToArray()).ToArray();
        var single = new float[40 * s.OutputLength];
        for (int i = 0; i < 40; i++)
        {
            s.Run(x.AsSpan(i * s.InputLength, s.InputLength), single.AsSpan(i * s.OutputLength, s.OutputLength));
            for (int l = 0; l < s.Layers.Count; l++)
                Assert.Equal(flagsBatched[l].AsSpan(i * s.Layers[l].OutSample, s.Layers[l].OutSample).ToArray(), s.Layers[l].TraceFlagged[..s.Layers[l].OutSample].ToArray());
        }
        Assert.True(hot > 0, $"{name} tau {tau}: no block took the hot-row GEMM");
        Assert.Equal(single.Select(BitConverter.SingleToInt32Bits), batched.Select(BitConverter.SingleToInt32Bits));
    }

    [Theory, MemberData(nameof(Models))]
    public void BatchedRunEqualsOneSampleRuns(string name)
    {
        var m = Build(name);
        foreach (var mode in new[] { RunMode.F32, RunMode.I8, RunMode.F16Acc, RunMode.Adaptive })
        {
            using var s = new Session(m, new SessionOptions { Mode = mode });
            var x = Inputs(14, 5 * s.InputLength);
            var batched = new float[5 * s.OutputLength];
            s.Run(x, batched, 5); // grows the buffers once
            long flaggedBatch = s.LastReport.Layers.Sum(l => l.Flagged);
            var single = new float[5 * s.OutputLength];
            long flaggedSingle = 0;
            for (int i = 0; i < 5; i++)
            {
                s.Run(x.AsSpan(i * s.InputLength, s.InputLength), single.AsSpan(i * s.OutputLength, s.OutputLength));
                flaggedSingle += s.LastReport.Layers.Sum(l => l.Flagged);
            }
            Assert.Equal(single, batched);
            Assert.Equal(flaggedSingle, flaggedBatch);
        }
    }

    [Theory, MemberData(nameof(Models))]
    public void GenericKernelsGiveTheSameLowPass(string name)
    {
        // int8 sums are exact on every path and f16acc follows one documented order, so the uniform low
        // modes must be bit-identical between the scalar reference kernels and the best kernels of this CPU, and
        // int8 convs between the quad layout (i8-gemm-nn4: SDOT, VPDPBUSD) and the pair layout (i8-gemm-nn), which
        // a CPU without a dot-product instruction runs.
        var m = Build(name);
        var noDot = new KernelOptions { Allowed = Enum.GetValues<Isa>().Where(i => i is not (Isa.AvxVnni or Isa.Avx512Vnni or Isa.Dp)).ToHashSet() };
        var quads = new KernelOptions { Allowed = Enum.GetValues<Isa>().Where(i => i is not Isa.Avx512BW).ToHashSet() }; // AVX-VNNI's quads on x64
        foreach (var mode in new[] { RunMode.I8, RunMode.F16Acc })
        {
            using var best = new Session(m, new SessionOptions { Mode = mode });
            using var generic = new Session(m, new SessionOptions { Mode = mode, Kernels = new KernelOptions { ForceGeneric = true } });
            using var pairs = new Session(m, new SessionOptions { Mode = mode, Kernels = noDot });
            using var quad = new Session(m, new SessionOptions { Mode = mode, Kernels = quads });
            var x = Inputs(15, best.InputLength);
            var a = new float[best.OutputLength]; var b = new float[best.OutputLength];
            var c = new float[best.OutputLength]; var d = new float[best.OutputLength];
            best.Run(x, a); generic.Run(x, b); pairs.Run(x, c); quad.Run(x, d);
            Assert.Equal(b, a);
            Assert.Equal(b, c);
            Assert.Equal(b, d);
        }
    }

    [Theory, MemberData(nameof(Models))]
    public void SteadyStateRunAllocatesNothing(string name)
    {
        var m = Build(name);
        foreach (var mode in new[] { RunMode.F32, RunMode.I8, RunMode.F16Acc, RunMode.Adaptive })
        {
            using var s = new Session(m, new SessionOptions { Mode = mode, MaxBatch = 3 });
            var x = Inputs(16, 3 * s.InputLength);
            var y = new float[3 * s.OutputLength];
            // Steady state: past tiered compilation's call counting (30 calls, then a background tier-up whose
            // installation can allocate on the calling thread), so warm up beyond it before measuring.
            for (int i = 0; i < 40; i++) { s.Run(x, y, 3); s.Run(x.AsSpan(0, s.InputLength), y.AsSpan(0, s.OutputLength)); }
            Thread.Sleep(150);
            for (int i = 0; i < 40; i++) { s.Run(x, y, 3); s.Run(x.AsSpan(0, s.InputLength), y.AsSpan(0, s.OutputLength)); }
            var (allocated, windows) = SteadyStateAllocation.Least(() =>
            {
                for (int i = 0; i < 50; i++) { s.Run(x, y, 3); s.Run(x.AsSpan(0, s.InputLength), y.AsSpan(0, s.OutputLength)); }
            });
            Assert.True(allocated == 0, $"{name} {mode}: {allocated} bytes allocated in each of {windows} windows of 100 steady-state runs");
        }
    }

    [Fact]
    public void ReportCountsComponentsAndMultiplyAdds()
    {
        var m = Build("cnn-i8");
        using var s = new Session(m, new SessionOptions { Mode = RunMode.Adaptive, MaxBatch = 2 });
        s.Run(Inputs(17, 2 * s.InputLength), new float[2 * s.OutputLength], 2);
        var r = s.LastReport;
        // c1: 8 channels x 8 x 11 positions (stride 2 with pads 1/2 over height 13; width 11 with pads 0/1 and k=3 -> 10).
        var c1 = r.Layers.Single(l => l.Name == "c1");
        var c1Shape = m.Graph.Values[m.Graph.Nodes.Single(n => n.Name == "c1").Output].Shape;
        Assert.Equal(2L * c1Shape[1] * c1Shape[2] * c1Shape[3], c1.Components);
        Assert.Equal(27, c1.InnerLength);
        Assert.Equal(c1.Components * 27, c1.Macs);
        Assert.InRange(c1.Flagged, 0, c1.Components);
        Assert.Equal(c1.Flagged * 27, c1.F32Macs);
        Assert.Equal(24, r.Layers.Single(l => l.Name == "c2").InnerLength); // 4 channels per group x 2 x 3
        Assert.Equal(2, r.Batch);
        double expected = (double)r.Layers.Sum(l => l.F32Macs) / r.Layers.Sum(l => l.Macs);
        Assert.Equal(expected, r.RecomputeFraction, 12);
    }

    [Fact]
    public void OverflowInF16IsFlaggedAndRecomputed()
    {
        // Inputs near 1e5 overflow fp16 (max 65504): every such low result is inf or NaN, flagged as non-finite,
        // and recomputed in fp32, so adaptive gives exactly the fp32 mode's outputs where uniform f16acc gives inf.
        var m = Mlp(21, Precision.F16Acc, TensorDType.Float16, Activation.Identity, tau: float.PositiveInfinity);
        using var f32 = new Session(m, new SessionOptions { Mode = RunMode.F32 });
        using var ad = new Session(m, new SessionOptions { Mode = RunMode.Adaptive });
        using var low = new Session(m, new SessionOptions { Mode = RunMode.F16Acc });
        var x = Inputs(22, f32.InputLength, 1e5);
        var a = new float[f32.OutputLength]; var b = new float[f32.OutputLength]; var c = new float[f32.OutputLength];
        f32.Run(x, a); ad.Run(x, b); low.Run(x, c);
        Assert.Equal(a, b);
        Assert.True(ad.LastReport.Layers[0].NonFinite > 0);
        Assert.Contains(c, v => !float.IsFinite(v));
    }

    [Fact]
    public void BadSpansAndNonFiniteInputsAreClearErrors()
    {
        var m = Build("mlp-i8");
        using var s = new Session(m);
        var y = new float[s.OutputLength];
        Assert.Throws<ArgumentException>(() => s.Run(new float[s.InputLength - 1], y));
        Assert.Throws<ArgumentException>(() => s.Run(new float[s.InputLength], new float[s.OutputLength - 1]));
        Assert.Throws<ArgumentException>(() => s.Run(new float[s.InputLength * 2], new float[s.OutputLength * 2], 3));
        var x = Inputs(23, s.InputLength);
        x[5] = float.NaN;
        var e = Assert.Throws<EmaException>(() => s.Run(x, y));
        Assert.Contains("element 5", e.Message);
        // Let NaN through: no crash, NaN out, every component it touches flagged.
        using var lax = new Session(m, new SessionOptions { RejectNonFiniteInput = false });
        lax.Run(x, y);
        Assert.Contains(y, float.IsNaN);
    }

    [Fact]
    public void LoadMapsTheFileAndRejectsCorruption()
    {
        var m = Build("cnn-f16");
        string dir = Directory.CreateTempSubdirectory("ema-session").FullName;
        try
        {
            string path = Path.Combine(dir, "m.ema");
            EmaWriter.Write(path, m);
            using var mem = new Session(EmaReader.Read(path), new SessionOptions { Mode = RunMode.Adaptive });
            using (var mapped = Session.Load(path, new SessionOptions { Mode = RunMode.Adaptive }))
            {
                var x = Inputs(24, mem.InputLength);
                var a = new float[mem.OutputLength]; var b = new float[mem.OutputLength];
                mem.Run(x, a); mapped.Run(x, b);
                Assert.Equal(a, b);
            }
            var bytes = File.ReadAllBytes(path);
            bytes[bytes.Length / 2] ^= 0x40;
            File.WriteAllBytes(path, bytes);
            Assert.ThrowsAny<EmaException>(() => Session.Load(path));
            Assert.ThrowsAny<EmaException>(() => Session.Load(Path.Combine(dir, "missing.ema")));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void AdversarialF16SumComesCloseToTheRigorousBound()
    {
        // Each fp16 lane starts at 2048 (ulp 2), then adds 1.0 a hundred times: every add is a tie that rounds
        // back to 2048, then -2048 cancels it. The exact sum is 800, f16acc returns 0. The audit must not report
        // a violation, and the bound must be within a small factor of the error (it is not vacuous: a bound
        // 5x too small would be caught).
        const int perLane = 100, k = 8 * (perLane + 2);
        var x = new float[k];
        for (int j = 0; j < k; j++) x[j] = j < 8 ? 2048f : j >= k - 8 ? -2048f : 1f;
        var b = new GraphBuilder();
        int v = b.Input("x", Shapes.Batch, k);
        v = b.Dense(v, TensorData.FromFloat16(Name("w"), [1, k], Enumerable.Repeat(Half.One, k).ToArray()), null, Activation.Identity,
            new LayerPlan(Precision.F16Acc, 0.01f, EstimatorKind.Fused, 0, 1f), "sum");
        b.Output(v);
        var m = new EmaModel(new ModelMetadata(), b.Graph);
        using var s = new Session(m, new SessionOptions { Mode = RunMode.F16Acc, Trace = true });
        var y = new float[1];
        s.Run(x, y);
        Assert.Equal(0f, y[0]);
        var a = BoundAudit.Check(s).Single();
        Assert.Equal(0, a.Violations);
        Assert.InRange(a.MaxErrorToBound, 0.2, 1.0);
        // Adaptive flags it (kappa = |W||x| / |s_hat| is infinite at s_hat = 0) and returns the exact 800.
        using var ad = new Session(m, new SessionOptions { Mode = RunMode.Adaptive });
        ad.Run(x, y);
        Assert.Equal(800f, y[0]);
    }
}
