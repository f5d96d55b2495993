using System.Collections.Concurrent;
using EdgeMixedAccum.Converters.Quantization;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Npy;
using EdgeMixedAccum.Runtime.Engine;
using EdgeMixedAccum.Tests;

namespace EdgeMixedAccum.Converters.Tests.Quantization;

/// <summary>
/// Tau calibration on the Fashion-MNIST MLPs: calibrate on images 0..499 of tests/fixtures/fmnist-x.npy, check
/// on the disjoint images 500..999. The held-out agreement check is strict: the target 0.999 on 500 held-out
/// images means no disagreement at all, and both MLPs reach it (the calibrated taus keep the agreement at
/// 100% on the calibration half; a disagreement needs a near-tie of the top two logits, which these models
/// rarely have at an output error of ~7e-4).
/// </summary>
public sealed class TauCalibratorTests : IDisposable
{
    private const int Half = 500;
    private const int Pixels = 28 * 28;
    private static readonly InputNormalization FmnistNorm = new([0.286f], [0.353f]);
    private static readonly Lazy<float[]> Images = new(() => NpyFile.Read(Path.Combine(TestPaths.Fixtures, "fmnist-x.npy")).ToFloat32());
    private static readonly ConcurrentDictionary<(string, double?, double?), (EmaModel Model, ConversionReport Report)> Converted = new();

    private readonly string _tmp = Directory.CreateTempSubdirectory("ema-tau-").FullName;
    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private static float[] Calibration => Images.Value.AsSpan(0, Half * Pixels).ToArray();
    private static float[] HeldOut => Images.Value.AsSpan(Half * Pixels, Half * Pixels).ToArray();

    /// <summary>Converts a fixture with tau calibrated on the first half (cached: conversions are shared by tests).</summary>
    private static (EmaModel Model, ConversionReport Report) Convert(string model, double? agreement = null, double? error = null) =>
        Converted.GetOrAdd((model, agreement, error), _ => Converter.Convert(Path.Combine(TestPaths.Fixtures, $"fmnist-mlp-{model}.onnx"), new ConvertOptions
        {
            Normalize = FmnistNorm,
            Calibration = (Calibration, [Half, 1, 28, 28]),
            TargetAgreement = agreement,
            TargetError = error,
        }));

    private EmaModel WriteAndReadBack(EmaModel model)
    {
        string path = Path.Combine(_tmp, "m.ema");
        EmaWriter.Write(path, model);
        return EmaReader.Read(path);
    }

    [Theory]
    [InlineData("tanh")]
    [InlineData("relu")]
    public void TheCalibratedModelMeetsItsTargetAgreementOnHeldOutImages(string name)
    {
        const double target = 0.999;
        var (model, report) = Convert(name, agreement: target);
        var tau = Assert.IsType<TauCalibrationResult>(report.Tau);
        Assert.Equal(Half, tau.Samples);
        Assert.True(tau.Final.Agreement >= target, $"calibration agreement {tau.Final.Agreement}");
        Assert.NotEmpty(tau.Layers);

        // The taus are in the file: the plans read back carry them and a plain adaptive session uses them.
        var back = WriteAndReadBack(model);
        var plans = back.Graph.Nodes.OfType<LayerNode>().ToDictionary(l => l.Name, l => l.Plan);
        foreach (var l in tau.Layers) Assert.Equal(l.Tau, plans[l.Layer].Tau);
        Assert.All(plans.Where(p => !tau.LayerTau.ContainsKey(p.Key)), p => Assert.Equal(Precision.F32, p.Value.Precision));

        var x = HeldOut;
        var reference = TauCalibrator.Reference(back, x, out int n);
        Assert.Equal(Half, n);
        var held = TauCalibrator.Measure(back, new SessionOptions { Mode = RunMode.Adaptive }, x, reference, out _);
        Assert.True(held.Agreement >= target, $"{name}: held-out agreement {held.Agreement} < {target}");
        Assert.True(held.RecomputeFraction < 1, $"{name}: held-out recompute fraction {held.RecomputeFraction}");
    }

    [Theory]
    [InlineData("tanh")]
    [InlineData("relu")]
    public void PerLayerLooseningNeverCostsMoreThanTheBestGlobalTau(string name)
    {
        var (model, report) = Convert(name, agreement: 0.999);
        var tau = report.Tau!;
        // On the calibration set by construction (a loosening is kept only if the cost does not grow) ...
        Assert.True(tau.Final.RecomputeFraction <= tau.Global.RecomputeFraction, $"{tau.Final.RecomputeFraction} > {tau.Global.RecomputeFraction}");
        Assert.All(tau.Layers, l => Assert.True(l.Tau >= tau.GlobalTau, $"{l.Layer}: tau {l.Tau} below the global {tau.GlobalTau}"));
        // ... every layer keeps a tau at least the global one, and the global tau is the largest grid value that
        // met the target: the next looser grid value must fail it.
        int i = TauCalibrator.Grid.ToList().IndexOf(tau.GlobalTau);
        Assert.True(i >= 0);
        var x = Calibration;
        var reference = TauCalibrator.Reference(model, x, out _);
        if (i > 0)
        {
            var looser = TauCalibrator.Measure(model, new SessionOptions { Mode = RunMode.Adaptive, Tau = TauCalibrator.Grid[i - 1] }, x, reference, out _);
            Assert.False(tau.Target.IsMetBy(looser), $"grid tau {TauCalibrator.Grid[i - 1]} also meets the target");
        }
        // ... and on the held-out half, the per-layer taus recompute no more than the global tau alone.
        var h = HeldOut;
        var hr = TauCalibrator.Reference(model, h, out _);
        var calibrated = TauCalibrator.Measure(model, new SessionOptions { Mode = RunMode.Adaptive }, h, hr, out _);
        var global = TauCalibrator.Measure(model, new SessionOptions { Mode = RunMode.Adaptive, Tau = tau.GlobalTau }, h, hr, out _);
        Assert.True(calibrated.RecomputeFraction <= global.RecomputeFraction, $"held-out {calibrated.RecomputeFraction} > {global.RecomputeFraction}");
    }

    [Theory]
    [InlineData("tanh")]
    [InlineData("relu")]
    public void TargetErrorHoldsOnTheCalibrationSetAndWithinSamplingErrorOnHeldOutImages(string name)
    {
        const double target = 1e-3;
        var (model, report) = Convert(name, error: target);
        var tau = report.Tau!;
        Assert.True(tau.Final.MeanRelError <= target, $"calibration error {tau.Final.MeanRelError}");

        // The held-out mean is another sample of the same per-image error distribution, so it may exceed the
        // target by sampling error (tanh at 1e-3 lands at 1.0005e-3). Allow three standard errors of the held-out
        // mean (per-image errors are independent across images; 3 SE is a one-sided 99.9% bound for the mean of
        // 500 by the CLT), computed from the held-out per-image errors themselves.
        var x = HeldOut;
        var reference = TauCalibrator.Reference(model, x, out int n);
        var held = TauCalibrator.Measure(model, new SessionOptions { Mode = RunMode.Adaptive }, x, reference, out var y);
        int len = reference.Length / n;
        var errors = new double[n];
        for (int i = 0; i < n; i++)
        {
            double num = 0, den = 0;
            for (int j = 0; j < len; j++)
            {
                double d = (double)y[i * len + j] - reference[i * len + j];
                num += d * d; den += (double)reference[i * len + j] * reference[i * len + j];
            }
            errors[i] = Math.Sqrt(num / den);
        }
        double mean = errors.Average();
        Assert.Equal(held.MeanRelError, mean, 1e-12);
        double se = Math.Sqrt(errors.Sum(e => (e - mean) * (e - mean)) / (n - 1) / n);
        Assert.True(mean <= target + 3 * se, $"{name}: held-out error {mean} > {target} + 3 * {se}");
    }

    /// <summary>
    /// A ReLU unit whose int8 low pass gets the sign wrong by more than the probabilistic flag bound: 99 inputs of
    /// 0.003 next to one of 1 quantise to 0 (step 1/127), so s_hat = b = -0.1 while s = 99 * 0.003 - 0.1 = 0.197.
    /// kappa_relu is 0 below the kink, so the relative test never flags it (not even at tau = 0), and the sign guard
    /// compares 2 e_max ||w||_2 = 2 * 0.003 * sqrt(99) = 0.06 with the distance 0.1 to the kink: not flagged either.
    /// No tau reaches the fp32 path, whatever the target.
    /// </summary>
    private static (EmaModel Model, float[] X) SignFlipModel()
    {
        var b = new GraphBuilder();
        int x = b.Input("x", Shapes.Batch, 100);
        var w1 = new float[100];
        for (int j = 1; j < 100; j++) w1[j] = 1;
        int h = b.Dense(x, TensorData.FromFloat32("w1", [1, 100], w1), TensorData.FromFloat32("b1", [1], [-0.1f]), Activation.Relu, name: "fc1");
        b.Output(b.Dense(h, TensorData.FromFloat32("w2", [2, 1], [1, 0]), TensorData.FromFloat32("b2", [2], [0, 0.05f]), name: "head"));
        WeightQuantizer.Quantize(b.Graph, WeightFormat.Int8);
        b.Graph.Validate();
        var input = new float[100];
        input[0] = 1;
        for (int j = 1; j < 100; j++) input[j] = 0.003f;
        return (new EmaModel(new ModelMetadata { ModelName = "sign-flip" }, b.Graph), input);
    }

    [Theory]
    [InlineData(null, 1e-12)]
    [InlineData(0.5, null)]
    public void AnUnreachableTargetFailsNamingTheTargetAndTheBestReached(double? agreement, double? error)
    {
        var (model, x) = SignFlipModel();
        Assert.Equal(Precision.I8, model.Graph.Nodes.OfType<LayerNode>().First().Plan.Precision);
        var e = Assert.Throws<EmaException>(() => TauCalibrator.Calibrate(model, x, new TauTarget(agreement, error)));
        Assert.Contains("cannot be met", e.Message);
        Assert.Contains("tau = 0", e.Message);
        Assert.Contains(agreement is null ? "mean relative error <= 1E-12" : "agreement >= 0.5", e.Message);
        Assert.Contains("agreement 0,", e.Message); // the best reached: the flipped unit moves the argmax
    }

    [Fact]
    public void TargetsNeedCalibrationDataAndExcludeEachOther()
    {
        string onnx = Path.Combine(TestPaths.Fixtures, "fmnist-mlp-tanh.onnx");
        var e = Assert.Throws<EmaException>(() => Converter.Convert(onnx, new ConvertOptions { TargetAgreement = 0.99 }));
        Assert.Contains("needs calibration inputs", e.Message);
        var calib = (Images.Value.AsSpan(0, 8 * Pixels).ToArray(), new[] { 8, 1, 28, 28 });
        e = Assert.Throws<EmaException>(() => Converter.Convert(onnx, new ConvertOptions { Calibration = calib, TargetAgreement = 0.99, TargetError = 1e-3 }));
        Assert.Contains("not both", e.Message);
        e = Assert.Throws<EmaException>(() => Converter.Convert(onnx, new ConvertOptions { Calibration = calib, TargetAgreement = 1.5 }));
        Assert.Contains("target agreement must be in (0, 1]", e.Message);
        e = Assert.Throws<EmaException>(() => Converter.Convert(onnx, new ConvertOptions { Calibration = calib, TargetError = -1 }));
        Assert.Contains("target error must be finite and >= 0", e.Message);
    }

    [Fact]
    public void WithoutATargetThePlansKeepTheConvertersDefaultTau()
    {
        var (model, report) = Converter.Convert(Path.Combine(TestPaths.Fixtures, "fmnist-mlp-tanh.onnx"), new ConvertOptions
        {
            Normalize = FmnistNorm,
            Calibration = (Images.Value.AsSpan(0, 16 * Pixels).ToArray(), [16, 1, 28, 28]),
        });
        Assert.Null(report.Tau);
        Assert.All(model.Graph.Nodes.OfType<LayerNode>().Where(l => l.Plan.Precision != Precision.F32),
            l => Assert.Equal(LayerPlan.DefaultTau(l.Plan.Precision), l.Plan.Tau));
    }

    [Fact]
    public void ChooseLowKeepsTheCheapestCandidateThatMeetsTheTargetAndStoresItsModeAndEstimator()
    {
        var (model, report) = Converter.Convert(Path.Combine(TestPaths.Fixtures, "fmnist-mlp-tanh.onnx"), new ConvertOptions
        {
            Normalize = FmnistNorm,
            Calibration = (Calibration[..(200 * Pixels)], [200, 1, 28, 28]),
            TargetError = 1e-3,
            ChooseLow = true,
        });
        Assert.Equal(3, report.Candidates.Count);
        var met = report.Candidates.Where(c => c.Cost is not null).ToList();
        Assert.NotEmpty(met);
        var tau = report.Tau!;
        Assert.Equal(met.Min(c => c.Cost!.Value), tau.Cost, 12);
        var chosen = met.First(c => c.Cost == tau.Cost);
        // The plans in the file carry the chosen mode (weights stored to match) and estimator.
        var back = WriteAndReadBack(model);
        foreach (var l in back.Graph.Nodes.OfType<LayerNode>().Where(l => tau.LayerTau.ContainsKey(l.Name)))
        {
            Assert.Equal(chosen.Weights == WeightFormat.Int8 ? Precision.I8 : Precision.F16Acc, l.Plan.Precision);
            if (chosen.Estimator is { } e) Assert.Equal(e, l.Plan.Estimator);
        }
        // Each candidate's cost follows the cost model: an fp16 low pass with the fused estimator costs as much as
        // fp32 before any recompute, so it can never beat row norms at a similar recompute share.
        var fused = report.Candidates.Single(c => c.Estimator == EstimatorKind.Fused);
        if (fused.Cost is { } fc) Assert.True(fc >= 1.0, $"fused f16acc cost {fc}");
    }

    [Fact]
    public void OnABoardWithoutFp16ArithmeticChooseLowOnlyTriesInt8AndTheTargetNamesNoFp16()
    {
        var boards = Path.Combine(TestPaths.Root, "boards");
        var (model, report) = Converter.Convert(Path.Combine(TestPaths.Fixtures, "fmnist-mlp-tanh.onnx"), new ConvertOptions
        {
            Normalize = FmnistNorm,
            Calibration = (Calibration[..(100 * Pixels)], [100, 1, 28, 28]),
            TargetError = 1e-3,
            ChooseLow = true,
            Board = EdgeMixedAccum.Runtime.Boards.BoardProfile.Find("rpi4", boards),
        });
        Assert.Equal(WeightFormat.Int8, Assert.Single(report.Candidates).Weights);
        Assert.Equal("rpi4", model.Metadata.Target!.Board);
        Assert.Empty(model.Metadata.Target.Features); // int8 on SMLAL needs nothing beyond ARMv8
        Assert.All(model.Graph.Nodes.OfType<LayerNode>(), l => Assert.NotEqual(Precision.F16Acc, l.Plan.Precision));
    }

    [Fact]
    public void TheCalibrationEstimatorIsStoredInThePlans()
    {
        var (model, report) = Converter.Convert(Path.Combine(TestPaths.Fixtures, "fmnist-mlp-tanh.onnx"), new ConvertOptions
        {
            Normalize = FmnistNorm,
            Weights = WeightFormat.Fp16,
            Calibration = (Calibration[..(100 * Pixels)], [100, 1, 28, 28]),
            TargetAgreement = 0.99,
            CalibrationEstimator = EstimatorKind.RowNorm,
        });
        Assert.Equal(EstimatorKind.RowNorm, report.Tau!.Estimator);
        var low = WriteAndReadBack(model).Graph.Nodes.OfType<LayerNode>().Where(l => l.Plan.Precision == Precision.F16Acc).ToList();
        Assert.NotEmpty(low);
        Assert.All(low, l => Assert.Equal(EstimatorKind.RowNorm, l.Plan.Estimator));
    }
}
