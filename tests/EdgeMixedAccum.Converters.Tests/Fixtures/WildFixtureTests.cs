using System.Text.Json;
using EdgeMixedAccum.Converters;
using EdgeMixedAccum.Converters.Onnx;
using EdgeMixedAccum.Converters.Passes;
using EdgeMixedAccum.Converters.Quantization;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Npy;
using EdgeMixedAccum.Reference;
using EdgeMixedAccum.Runtime.Engine;
using EdgeMixedAccum.Tests;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit.Abstractions;
using EmaSession = EdgeMixedAccum.Runtime.Engine.Session;
using EmaSessionOptions = EdgeMixedAccum.Runtime.Engine.SessionOptions;
using OrtSessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace EdgeMixedAccum.Converters.Tests.Fixtures;

/// <summary>
/// Models from the wild (issue 10; tests/fixtures/wild/fixtures.json, written by tests/fixtures/make_wild_fixtures.py):
/// PyTorch LayerNorm exports (decomposed at opset 13 with a fixed batch of 1, the op at 17) and tf2onnx-style CNNs
/// (NHWC transposes/reshapes, clamps as Max/Min, Clip with inputs, auto_pad, asymmetric pads, strides, dilations,
/// groups, depthwise, fixed batch, an unused ai.onnx.ml import), each trained. Against ONNX Runtime on the 1000
/// bundled rows: the fp32 .ema within 1e-5 of the sample's largest output (fp64-free reference executor on a prefix,
/// and the runtime in one call over all rows: a fixed-batch export runs any batch), int8 weights in adaptive mode
/// (Algorithm 1, tau calibrated on the first 300 rows) agreeing with ORT's top-1 on at least 99.5% of the rows.
/// </summary>
public class WildFixtureTests(ITestOutputHelper output)
{
    private const double Fp32Budget = 1e-5;
    private const double AdaptiveTop1Agreement = 0.995;
#if DEBUG
    // `dotnet test` builds Debug, where the JIT does not optimise the kernels (the audio CNN's 1000 rows take minutes
    // per pass): unoptimised builds check a prefix of the big fixtures' rows and leave the audio CNN's int8 adaptive
    // agreement (calibration plus 1000 rows) to Release runs (`dotnet test -c Release`), which check everything.
    private const long ReferenceMacBudget = 500_000_000, RuntimeMacBudget = 2_000_000_000, AdaptiveMacBudget = 5_000_000_000;
#else
    /// <summary>The naive reference executor runs this many multiply-adds at most per fixture (the 42 M MAC audio CNN
    /// runs a prefix of its rows; the runtime's f32 test covers all of them).</summary>
    private const long ReferenceMacBudget = 2_000_000_000, RuntimeMacBudget = long.MaxValue, AdaptiveMacBudget = long.MaxValue;
#endif

    public static string Dir => Path.Combine(TestPaths.Fixtures, "wild");

    public sealed record Wild(string Model, string Input, string Labels, float[]? Normalize, double Accuracy, bool FixedBatch, long Macs);

    public static IReadOnlyList<Wild> All { get; } = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "fixtures.json")))
        .RootElement.EnumerateArray().Select(e => new Wild(
            e.GetProperty("model").GetString()!, e.GetProperty("input").GetString()!, e.GetProperty("labels").GetString()!,
            e.GetProperty("normalize").ValueKind == JsonValueKind.Null ? null : e.GetProperty("normalize").EnumerateArray().Select(v => v.GetSingle()).ToArray(),
            e.GetProperty("test_accuracy_bundled").GetDouble(),
            e.TryGetProperty("fixed_batch", out var fb) && fb.GetBoolean(),
            e.TryGetProperty("macs", out var m) ? m.GetInt64() : 0)).ToArray();

    public static TheoryData<string> Models() => new(All.Select(f => f.Model));

    /// <summary>Fixtures whose calibration and 1000-row adaptive run fit <see cref="AdaptiveMacBudget"/>.</summary>
    public static TheoryData<string> AdaptiveModels() => new(All.Where(f => f.Macs * 1000 <= AdaptiveMacBudget).Select(f => f.Model));

    private static int Rows(Wild f, int total, long budget) => f.Macs > 0 ? (int)Math.Clamp(budget / f.Macs, 1, total) : total;

    private static readonly Dictionary<string, (float[] X, int[] Shape, float[] Ort)> Cache = [];

    /// <summary>ORT's outputs on the fixture's (normalised) rows, one thread. A fixed-batch export is fed in
    /// chunks of its declared batch, as ORT requires.</summary>
    internal static (float[] X, int[] Shape, float[] Ort, int Classes) Oracle(Wild f)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(f.Model, out var c))
            {
                var x = NpyFile.Read(Path.Combine(Dir, f.Input));
                var raw = x.ToFloat32();
                var fed = f.Normalize is { } n ? raw.Select(v => (v - n[0]) / n[1]).ToArray() : raw;
                using var options = new OrtSessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
                using var session = new InferenceSession(Path.Combine(Dir, f.Model), options);
                var (name, meta) = session.InputMetadata.First();
                int rows = x.Shape[0], per = fed.Length / rows;
                int chunk = meta.Dimensions[0] > 0 ? meta.Dimensions[0] : rows;
                var ort = new List<float>();
                for (int r = 0; r < rows; r += chunk)
                {
                    int k = Math.Min(chunk, rows - r);
                    var part = fed.AsSpan(r * per, k * per).ToArray();
                    using var results = session.Run([NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(part, [k, .. x.Shape[1..]]))]);
                    ort.AddRange(results.First().AsEnumerable<float>());
                }
                c = (raw, x.Shape, ort.ToArray());
                Cache[f.Model] = c;
            }
            return (c.X, c.Shape, c.Ort, c.Ort.Length / c.Shape[0]);
        }
    }

    private static EmaModel Convert(Wild f, WeightFormat weights, (float[], int[])? calibration = null)
    {
        var options = new ConvertOptions
        {
            Weights = weights,
            Normalize = f.Normalize is { } n ? new InputNormalization([n[0]], [n[1]]) : null,
            Calibration = calibration,
            CalibrationSource = f.Input + " (first rows)",
            TargetAgreement = calibration is null ? null : 0.999,
        };
        var (model, _) = Converter.Convert(Path.Combine(Dir, f.Model), options);
        return EmaReader.Read(EmaWriter.ToBytes(model));
    }

    /// <summary>Worst |ours - ORT| over the rows, relative to each row's largest |ORT output|.</summary>
    private static double WorstRelative(ReadOnlySpan<float> ours, ReadOnlySpan<float> ort, int rows, int classes)
    {
        double worst = 0;
        for (int s = 0; s < rows; s++)
        {
            double scale = 0;
            for (int c = 0; c < classes; c++) scale = Math.Max(scale, Math.Abs(ort[s * classes + c]));
            for (int c = 0; c < classes; c++)
                worst = Math.Max(worst, Math.Abs(ours[s * classes + c] - ort[s * classes + c]) / Math.Max(scale, 1e-30));
        }
        return worst;
    }

    private static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void OrtReproducesTheTrainedAccuracy(string name)
    {
        // Guards the fixture itself: the graph written with onnx.helper computes what the trained torch model did.
        var f = All.Single(a => a.Model == name);
        var (_, shape, ort, classes) = Oracle(f);
        var y = NpyFile.Read(Path.Combine(Dir, f.Labels)).ToInt64();
        int ok = 0;
        for (int s = 0; s < shape[0]; s++) if (ArgMax(ort.AsSpan(s * classes, classes)) == y[s]) ok++;
        Assert.Equal(f.Accuracy, (double)ok / shape[0], 3);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Fp32ReferenceMatchesOnnxRuntime(string name)
    {
        var f = All.Single(a => a.Model == name);
        var (x, shape, ort, classes) = Oracle(f);
        int rows = Rows(f, shape[0], ReferenceMacBudget);
        int per = x.Length / shape[0];
        var model = Convert(f, WeightFormat.Fp32);
        var ours = ReferenceExecutor.Run<float>(model, (x.AsSpan(0, rows * per).ToArray(), [rows, .. shape[1..]]))[0].Data;
        double worst = WorstRelative(ours, ort, rows, classes);
        output.WriteLine($"{name}: fp32 reference vs ORT on {rows} rows, worst {worst:G3} of the largest output");
        Assert.True(worst <= Fp32Budget, $"{name}: worst error {worst:G3} of the largest output exceeds {Fp32Budget}");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Fp32RuntimeRunsEveryRowInOneCallAndMatchesOnnxRuntime(string name)
    {
        var f = All.Single(a => a.Model == name);
        var (x, shape, ort, classes) = Oracle(f);
        using var s = new EmaSession(Convert(f, WeightFormat.Fp32), new EmaSessionOptions { Mode = RunMode.F32 });
        // A fixed-batch export (declared [1, ...]) is relaxed at conversion: the whole .npy goes in one call.
        Assert.True(s.AnyBatch, $"{name}: the batch dim was not relaxed");
        int rows = Rows(f, shape[0], RuntimeMacBudget);
        var y = new float[rows * s.OutputLength];
        s.Run(x.AsSpan(0, rows * (x.Length / shape[0])), y, rows);
        double worst = WorstRelative(y, ort, rows, classes);
        output.WriteLine($"{name}: runtime f32 vs ORT on {rows} rows in one call, worst {worst:G3} of the largest output");
        Assert.True(worst <= Fp32Budget, $"{name}: worst error {worst:G3} of the largest output exceeds {Fp32Budget}");
    }

    [Theory]
    [MemberData(nameof(AdaptiveModels))]
    public void Int8AdaptiveAgreesWithOnnxRuntimeTop1(string name)
    {
        var f = All.Single(a => a.Model == name);
        var (x, shape, ort, classes) = Oracle(f);
        int per = x.Length / shape[0], nCal = 300;
        var model = Convert(f, WeightFormat.Int8, (x.AsSpan(0, nCal * per).ToArray(), [nCal, .. shape[1..]]));
        // Algorithm 1 runs on every Dense and Conv: all of them are layers with a low pass (or the fp32 head).
        Assert.All(model.Graph.Nodes.Where(n => n.Op is OpKind.Dense or OpKind.Conv), n => Assert.IsAssignableFrom<LayerNode>(n));
        using var s = new EmaSession(model, new EmaSessionOptions { Mode = RunMode.Adaptive });
        var y = new float[shape[0] * s.OutputLength];
        s.Run(x, y, shape[0]);
        int agree = 0;
        for (int r = 0; r < shape[0]; r++)
            if (ArgMax(y.AsSpan(r * classes, classes)) == ArgMax(ort.AsSpan(r * classes, classes))) agree++;
        double share = (double)agree / shape[0];
        var low = s.LastReport.Layers.Where(l => l.Precision != Precision.F32).ToList();
        output.WriteLine($"{name}: int8 adaptive top-1 = ORT on {share:P2} of {shape[0]} rows; {low.Count} low layers; recomputed {s.LastReport.RecomputeFraction:P1} of MACs");
        Assert.NotEmpty(low);
        Assert.True(share >= AdaptiveTop1Agreement, $"{name}: int8 adaptive top-1 agrees with ORT on {share:P2}");
    }

    [Fact]
    public void LayerNormIsOneNodeInBothExports()
    {
        foreach (var name in new[] { "ln-mlp-opset13.onnx", "ln-mlp-opset17.onnx" })
        {
            var r = OnnxImporter.Import(Path.Combine(Dir, name));
            var ln = Assert.Single(r.Graph.Nodes.OfType<LayerNormNode>());
            Assert.Equal(1e-5f, ln.Epsilon, 1e-9f);
            Assert.Equal(new[] { "Flatten", "Dense", "LayerNorm", "Activation", "Dense" }, r.Graph.Nodes.Select(n => n.Op.ToString()));
        }
        Assert.Equal(BatchMode.MadeSymbolic, OnnxImporter.Import(Path.Combine(Dir, "ln-mlp-opset13.onnx")).Batch);
    }

    [Fact]
    public void Tf2OnnxClampsFoldIntoTheConv()
    {
        var r = OnnxImporter.Import(Path.Combine(Dir, "kws-transpose.onnx"));
        var convs = r.Graph.Nodes.OfType<ConvNode>().ToList();
        Assert.Equal(3, convs.Count);
        // Max(x, 0) -> Min(x, 6) after the second conv is ReLU6, fused.
        Assert.Equal(Activation.Clip(0, 6), convs[1].Activation);
        // LeakyRelu -> Max(x, -0.5) -> Min(x, 6) after the first and third: one LeakyReluClip each, no Clip node left.
        Assert.Equal(Activation.LeakyReluClip(0.1f, -0.5f, 6), convs[0].Activation);
        Assert.Equal(Activation.LeakyReluClip(0.1f, -0.5f, 6), convs[2].Activation);
        Assert.Empty(r.Graph.Nodes.OfType<ActivationNode>());
        Assert.Equal(2, r.Graph.Nodes.OfType<TransposeNode>().Count());
        // auto_pad and the asymmetric explicit pads resolve to ONNX pads (begins, then ends).
        Assert.Equal(new[] { 0, 1, 0, 2 }, convs[0].Pads);
        // 3x1, stride 2, SAME_UPPER on 40 rows: 20 outputs need 1 row of padding, at the end.
        Assert.Equal(new[] { 0, 0, 1, 0 }, convs[1].Pads);
        Assert.Equal(4, convs[2].Groups);
    }

    [Fact]
    public void FixedBatchReshapeModelImportsWithItsUnusedDomainAndRunsAnyBatch()
    {
        var r = OnnxImporter.Import(Path.Combine(Dir, "kws-reshape.onnx"));
        Assert.Equal(BatchMode.MadeSymbolic, r.Batch);
        Assert.Equal(Shapes.Batch, r.Inputs[0].Shape[0]);
        var dw = r.Graph.Nodes.OfType<ConvNode>().Single(c => c.Groups > 1);
        Assert.Equal(new[] { 2, 2 }, dw.Dilations);
        Assert.Equal(new[] { 2, 1, 1, 2 }, dw.Pads);
        // Relu -> Min(x, 6) after the depthwise conv became ReLU6 fused into it; Clip with inputs fused too.
        Assert.Equal(Activation.Clip(0, 6), dw.Activation);
        Assert.DoesNotContain(r.Graph.Nodes, n => n is ActivationNode { Activation.Kind: ActivationKind.Relu });
    }
}
