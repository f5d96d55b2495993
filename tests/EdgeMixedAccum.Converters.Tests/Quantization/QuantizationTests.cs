using EdgeMixedAccum.Converters.Quantization;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Reference;

namespace EdgeMixedAccum.Converters.Tests.Quantization;

public class QuantizationTests
{
    private static float[] Random(int n, int seed, double scale = 1)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)((r.NextDouble() * 2 - 1) * scale)).ToArray();
    }

    private static ModelGraph Mlp(out TensorData w1, int seed = 1)
    {
        var b = new GraphBuilder();
        int x = b.Input("x", Shapes.Batch, 6);
        w1 = TensorData.FromFloat32("w1", [5, 6], Random(30, seed));
        int h = b.Dense(x, w1, TensorData.FromFloat32("b1", [5], Random(5, seed + 1)), Activation.Relu, name: "fc1");
        var w2 = TensorData.FromFloat32("w2", [3, 5], Random(15, seed + 2, 100));
        b.Output(b.Dense(h, w2, null, name: "fc2"));
        return b.Graph;
    }

    [Fact]
    public void Int8IsSymmetricPerRowWithinHalfAStep()
    {
        var g = Mlp(out var original);
        var before = original.AsFloat32().ToArray();
        var report = WeightQuantizer.Quantize(g, WeightFormat.Int8);
        var q = g.Constant(g.Nodes[0].Inputs[1]);
        Assert.Equal(TensorDType.Int8, q.DType);
        Assert.Equal(Precision.I8, ((LayerNode)g.Nodes[0]).Plan.Precision);
        var codes = q.AsInt8();
        var scales = q.Scales;
        var deq = q.ToFloat32();
        for (int i = 0; i < 5; i++)
        {
            float max = 0;
            for (int j = 0; j < 6; j++) max = Math.Max(max, Math.Abs(before[i * 6 + j]));
            Assert.Equal(max / 127f, scales[i]);
            Assert.Contains(codes.Slice(i * 6, 6).ToArray(), c => Math.Abs(c) == 127); // the row's max uses the full range
            for (int j = 0; j < 6; j++)
            {
                Assert.InRange(codes[i * 6 + j], -127, 127);
                Assert.True(Math.Abs(deq[i * 6 + j] - before[i * 6 + j]) <= scales[i] / 2 * (1 + 1e-6), $"[{i},{j}]");
            }
        }
        Assert.True(report[0].MaxAbsError <= scales.ToArray().Max() / 2 * (1 + 1e-6));
        // Row statistics are of the stored (dequantised) rows.
        var (l1, _) = TensorData.ComputeRowStats(q);
        Assert.Equal(l1, q.RowL1.ToArray());
        g.Validate();
    }

    [Fact]
    public void AllZeroRowQuantisesToZeroScale()
    {
        var b = new GraphBuilder();
        int x = b.Input("x", Shapes.Batch, 2);
        b.Output(b.Dense(x, TensorData.FromFloat32("w", [2, 2], [0, 0, 1, -1])));
        WeightQuantizer.Quantize(b.Graph, WeightFormat.Int8);
        var q = b.Graph.Constant(b.Graph.Nodes[0].Inputs[1]);
        Assert.Equal(0f, q.Scales[0]);
        Assert.Equal(new sbyte[] { 0, 0, 127, -127 }, q.AsInt8().ToArray());
    }

    [Fact]
    public void TheHeadLayerIsPlannedFp32AndHiddenLayersGetTheirPrecisionsDefaultTau()
    {
        var g = Mlp(out _);
        WeightQuantizer.Quantize(g, WeightFormat.Int8);
        var layers = g.Nodes.OfType<LayerNode>().ToList();
        var head = layers[^1];
        Assert.Equal(LayerPlan.Fp32, head.Plan);
        Assert.Contains(head, g.HeadLayers());
        foreach (var l in layers[..^1])
        {
            Assert.Equal(Precision.I8, l.Plan.Precision);
            Assert.Equal(LayerPlan.DefaultTau(Precision.I8), l.Plan.Tau);
            Assert.Equal(EstimatorKind.Fused, l.Plan.Estimator);
            Assert.Equal(1f, l.Plan.TauNegative);
        }
        // The head's weights are stored int8 like the rest (uniform i8 mode still runs it at low precision).
        Assert.Equal(TensorDType.Int8, g.Constant(head.Weight).DType);
    }

    [Fact]
    public void Fp16RoundsToNearestAndReportsOverflow()
    {
        var g = Mlp(out var original);
        var before = original.AsFloat32().ToArray();
        WeightQuantizer.Quantize(g, WeightFormat.Fp16);
        var h = g.Constant(g.Nodes[0].Inputs[1]).AsFloat16();
        for (int i = 0; i < before.Length; i++) Assert.Equal((Half)before[i], h[i]);
        Assert.Equal(Precision.F16Acc, ((LayerNode)g.Nodes[0]).Plan.Precision);
        Assert.Equal(LayerPlan.DefaultTau(Precision.F16Acc), ((LayerNode)g.Nodes[0]).Plan.Tau);

        var b = new GraphBuilder();
        int x = b.Input("x", Shapes.Batch, 2);
        b.Output(b.Dense(x, TensorData.FromFloat32("w", [1, 2], [1f, 70000f]), name: "big"));
        var e = Assert.Throws<EmaException>(() => WeightQuantizer.Quantize(b.Graph, WeightFormat.Fp16));
        Assert.Contains("big", e.Message);
        Assert.Contains("70000", e.Message);
    }

    [Fact]
    public void NormalisationFoldedIntoDenseMatchesNormalisingTheInput()
    {
        var norm = new InputNormalization([0.3f], [0.25f]);
        var plain = Mlp(out _);
        var folded = Mlp(out _);
        Assert.Null(NormalizationFolder.TryFold(folded, norm));
        var x = Random(4 * 6, 9, 2);
        var normalised = x.Select(v => (v - 0.3f) / 0.25f).ToArray();
        var want = ReferenceExecutor.Run(plain, [RefTensor<double>.FromFloat([4, 6], normalised)])[0].Data;
        var got = ReferenceExecutor.Run(folded, [RefTensor<double>.FromFloat([4, 6], x)])[0].Data;
        AssertClose(want, got);
    }

    [Fact]
    public void NormalisationPerChannelFoldsIntoUnpaddedGroupedConv()
    {
        var norm = new InputNormalization([0.1f, -0.2f, 0.5f, 1f], [0.5f, 2f, 1f, 0.25f]);
        ModelGraph Make()
        {
            var b = new GraphBuilder();
            int x = b.Input("x", Shapes.Batch, 4, 5, 5);
            b.Output(b.Conv(x, TensorData.FromFloat32("w", [6, 2, 3, 3], Random(108, 3)), TensorData.FromFloat32("b", [6], Random(6, 4)), groups: 2));
            return b.Graph;
        }
        var plain = Make(); var folded = Make();
        Assert.Null(NormalizationFolder.TryFold(folded, norm));
        var x = Random(2 * 100, 5, 3);
        var n = (float[])x.Clone();
        norm.Apply(n, [2, 4, 5, 5]);
        var want = ReferenceExecutor.Run(plain, [RefTensor<double>.FromFloat([2, 4, 5, 5], n)])[0].Data;
        var got = ReferenceExecutor.Run(folded, [RefTensor<double>.FromFloat([2, 4, 5, 5], x)])[0].Data;
        AssertClose(want, got);
    }

    /// <summary>Folding stores W / std and the shifted bias in fp32 and the inputs are fp32: a few units of
    /// 2^-24 relative to the outputs' scale, far below the 1e-5 allowed here.</summary>
    private static void AssertClose(double[] want, double[] got)
    {
        double scale = want.Max(Math.Abs);
        for (int i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= 1e-5 * scale, $"[{i}] {got[i]} vs {want[i]}");
    }

    [Fact]
    public void ScalarNormalisationFoldsThroughAFlattenButPerChannelDoesNot()
    {
        ModelGraph Make()
        {
            var b = new GraphBuilder();
            int x = b.Input("x", Shapes.Batch, 2, 3);
            b.Output(b.Dense(b.Flatten(x), TensorData.FromFloat32("w", [4, 6], Random(24, 8)), TensorData.FromFloat32("b", [4], Random(4, 9))));
            return b.Graph;
        }
        var norm = new InputNormalization([0.5f], [4f]);
        var plain = Make(); var folded = Make();
        Assert.Null(NormalizationFolder.TryFold(folded, norm));
        var x = Random(3 * 6, 10, 5);
        var want = ReferenceExecutor.Run(plain, [RefTensor<double>.FromFloat([3, 2, 3], x.Select(v => (v - 0.5f) / 4f).ToArray())])[0].Data;
        var got = ReferenceExecutor.Run(folded, [RefTensor<double>.FromFloat([3, 2, 3], x)])[0].Data;
        AssertClose(want, got);
        Assert.Contains("reshape", NormalizationFolder.TryFold(Make(), new InputNormalization([0.5f, 1f], [4f, 2f])));
    }

    [Fact]
    public void PaddedConvKeepsNormalisationAsMetadata()
    {
        var b = new GraphBuilder();
        int x = b.Input("x", Shapes.Batch, 1, 4, 4);
        b.Output(b.Conv(x, TensorData.FromFloat32("w", [2, 1, 3, 3], Random(18, 3)), pads: [1, 1, 1, 1]));
        string? why = NormalizationFolder.TryFold(b.Graph, new InputNormalization([0.5f], [2f]));
        Assert.NotNull(why);
        Assert.Contains("padded", why);
    }

    [Fact]
    public void CalibrationRecordsMaxAndPercentileOfEachLayerInput()
    {
        var g = Mlp(out _);
        var model = new EmaModel(new ModelMetadata(), g);
        int n = 500;
        var x = Random(n * 6, 11, 3);
        x[17] = 50f; // one outlier: the max sees it, the 99th percentile does not
        var max = Calibrator.Calibrate(model, x, [n, 6], new CalibrationOptions { Method = RangeMethod.Max, Chunk = 64 });
        var pct = Calibrator.Calibrate(model, x, [n, 6], new CalibrationOptions { Method = RangeMethod.Percentile, Percentile = 99 });
        Assert.Equal(50f, max[0].MaxAbs);
        Assert.Equal(50f, max[0].Range);
        Assert.Equal(50f / 127f, max[0].Scale);
        var sorted = x.Select(Math.Abs).Order().ToArray();
        Assert.Equal(sorted[(int)Math.Ceiling(0.99 * sorted.Length) - 1], pct[0].Range);

        // The second layer's input is fc1's output, computed independently here.
        var fc1 = new List<float>();
        ReferenceExecutor.Run(g, [RefTensor<float>.FromFloat([n, 6], x)], (node, t) => { if (node.Name == "fc1") fc1.AddRange(t.Data); });
        Assert.Equal(fc1.Max(Math.Abs), max[1].MaxAbs);

        WeightQuantizer.Quantize(g, WeightFormat.Int8);
        Calibrator.Apply(g, max);
        Assert.Equal(50f / 127f, ((LayerNode)g.Nodes[0]).Plan.InputScale);
    }

    [Fact]
    public void CalibrationRejectsNonFiniteInputsAndWrongShapes()
    {
        var model = new EmaModel(new ModelMetadata(), Mlp(out _));
        var x = new float[12];
        x[3] = float.NaN;
        Assert.Throws<EmaException>(() => Calibrator.Calibrate(model, x, [2, 6]));
        Assert.Throws<EmaException>(() => Calibrator.Calibrate(model, new float[10], [2, 5]));
    }
}
