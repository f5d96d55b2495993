using System.Security.Cryptography;
using EdgeMixedAccum.Converters.Onnx;
using EdgeMixedAccum.Converters.Quantization;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Reference;

namespace EdgeMixedAccum.Converters;

/// <summary>Options of `ema convert`.</summary>
public sealed record ConvertOptions
{
    public WeightFormat Weights { get; init; } = WeightFormat.Int8;
    /// <summary>Calibration inputs for static int8 activation ranges: [B, ...] as the model input, one sample,
    /// or for a flat-vector model [B, ...] with as many elements per sample (fitted after import).</summary>
    public (float[] Data, int[] Shape)? Calibration { get; init; }
    /// <summary>Where the calibration data came from, for error messages.</summary>
    public string CalibrationSource { get; init; } = "calibration data";
    public CalibrationOptions CalibrationOptions { get; init; } = new();
    /// <summary>Input normalisation the raw inputs need; folded into the first layer where exact.</summary>
    public InputNormalization? Normalize { get; init; }
    public IReadOnlyList<string> Labels { get; init; } = [];
    /// <summary>Model name stored in the file (default: the ONNX file name without extension).</summary>
    public string? ModelName { get; init; }
    /// <summary>Calibrate tau per layer (<see cref="TauCalibrator"/>) so that adaptive mode's top-1 agrees with the
    /// fp32 path on at least this share of the calibration inputs. Needs <see cref="Calibration"/>; excludes
    /// <see cref="TargetError"/>.</summary>
    public double? TargetAgreement { get; init; }
    /// <summary>Calibrate tau per layer so that adaptive mode's mean relative output error against the fp32 path
    /// (per sample ||y - y32||_2 / ||y32||_2) is at most this on the calibration inputs. Needs
    /// <see cref="Calibration"/>; excludes <see cref="TargetAgreement"/>.</summary>
    public double? TargetError { get; init; }
    /// <summary>With a target: also choose the low mode and estimator, trying int8 weights (i8 low pass), and fp16
    /// weights (f16acc) with the fused and the row-norm estimator, each calibrated to the target; the lowest
    /// modelled cost (<see cref="EdgeMixedAccum.Runtime.Engine.CostModel"/>) wins. Overrides <see cref="Weights"/>.</summary>
    public bool ChooseLow { get; init; }
    /// <summary>Estimator the tau calibration runs with and stores (null: the plan's).</summary>
    public EstimatorKind? CalibrationEstimator { get; init; }
    /// <summary>The board the model is for (`--board`): its default tau and estimator go into the plans (unless tau is
    /// calibrated), and the CPU features the plan relies on into the TARGET section. The weights format is the caller's.</summary>
    public EdgeMixedAccum.Runtime.Boards.BoardProfile? Board { get; init; }
}

/// <summary>One candidate of <see cref="ConvertOptions.ChooseLow"/>: its weights, estimator, and modelled cost
/// (null when it cannot meet the target; <paramref name="Why"/> then says why).</summary>
public sealed record LowModeCandidate(WeightFormat Weights, EstimatorKind? Estimator, double? Cost, double RecomputeFraction, string? Why);

/// <summary>What a conversion did, for the CLI summary and for tests.</summary>
public sealed record ConversionReport(
    OnnxImportResult Import,
    IReadOnlyList<LayerQuantization> Layers,
    IReadOnlyList<LayerRange> Ranges,
    string Normalization,
    long SourceBytes,
    long OutputBytes,
    TauCalibrationResult? Tau = null)
{
    /// <summary>The candidates <see cref="ConvertOptions.ChooseLow"/> tried (empty otherwise).</summary>
    public IReadOnlyList<LowModeCandidate> Candidates { get; init; } = [];
}

/// <summary>ONNX file to .ema: import and passes, normalisation, calibration, quantisation, validation.</summary>
public static class Converter
{
    public static string Version { get; } = typeof(Converter).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public static (EmaModel Model, ConversionReport Report) Convert(string onnxPath, ConvertOptions options, IProgress<(string Step, double Fraction)>? progress = null)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(onnxPath); }
        catch (FileNotFoundException) { throw new EmaException($"ONNX file '{onnxPath}' does not exist"); }
        catch (DirectoryNotFoundException) { throw new EmaException($"ONNX file '{onnxPath}' does not exist"); }
        return Convert(bytes, Path.GetFileName(onnxPath), options, progress);
    }

    public static (EmaModel Model, ConversionReport Report) Convert(byte[] onnx, string name, ConvertOptions options, IProgress<(string Step, double Fraction)>? progress = null)
    {
        if (options.ChooseLow)
        {
            if (options.TargetAgreement is null && options.TargetError is null)
                throw new EmaException("choosing the low mode needs a target (--target-agreement or --target-error) and --calib");
            return ChooseLow(onnx, name, options, progress);
        }
        TauTarget? tauTarget = null;
        if (options.TargetAgreement is not null || options.TargetError is not null)
        {
            if (options.TargetAgreement is not null && options.TargetError is not null)
                throw new EmaException("give a target agreement or a target error, not both");
            tauTarget = new TauTarget(options.TargetAgreement, options.TargetError);
            tauTarget.Validate();
            if (options.Calibration is null)
                throw new EmaException($"tau calibration ({tauTarget}) needs calibration inputs (--calib X.npy)");
        }
        progress?.Report(("import", 0));
        var import = OnnxImporter.Import(onnx, name);
        var g = import.Graph;
        var meta = new ModelMetadata
        {
            ModelName = options.ModelName ?? Path.GetFileNameWithoutExtension(name),
            SourceSha256 = SHA256.HashData(onnx),
            ConverterVersion = $"ema convert {Version}",
            Labels = [.. options.Labels],
        };
        if (options.Labels.Count > 0)
        {
            var outShape = g.Values[g.Outputs[0]].Shape;
            if (outShape.Length == 0 || outShape[^1] != options.Labels.Count)
                throw new EmaException($"{options.Labels.Count} class labels given but the first output is {Shapes.Format(outShape)}");
        }

        string normalization = "none";
        if (options.Normalize is { } norm)
        {
            string? why = NormalizationFolder.TryFold(g, norm);
            if (why is null) normalization = "folded into the first layer";
            else
            {
                meta.Normalization = norm;
                normalization = $"stored for the runtime to apply ({why})";
            }
        }
        var model = new EmaModel(meta, g);

        IReadOnlyList<LayerRange> ranges = [];
        if (options.Calibration is { } calib)
        {
            var (_, shape) = ReferenceExecutor.FitInputShape(g.Values[g.Inputs[0]], calib.Shape, options.CalibrationSource);
            ranges = Calibrator.Calibrate(model, calib.Data, shape, options.CalibrationOptions, new SyncProgress(progress));
        }
        progress?.Report(("quantise", 0));
        var layers = WeightQuantizer.Quantize(g, options.Weights);
        Calibrator.Apply(g, ranges);
        g.Validate();
        TauCalibrationResult? tau = null;
        if (tauTarget is not null)
        {
            progress?.Report(("calibrate tau", 0));
            var (data, _) = options.Calibration!.Value;
            tau = TauCalibrator.Calibrate(model, data, tauTarget, new SyncProgress(progress, "calibrate tau"), options.CalibrationEstimator);
            TauCalibrator.Apply(g, tau);
            g.Validate();
        }
        if (options.Board is { } board)
        {
            if (tau is null)
                foreach (var l in g.Nodes.OfType<LayerNode>().Where(l => l.Plan.Precision != Precision.F32))
                    l.Plan = l.Plan with { Tau = board.Tau ?? l.Plan.Tau, Estimator = board.Estimator };
            var low = g.Nodes.OfType<LayerNode>().Select(l => l.Plan.Precision).Where(p => p != Precision.F32).DefaultIfEmpty(Precision.F32)
                .GroupBy(p => p).OrderByDescending(x => x.Count()).First().Key;
            meta.Target = EdgeMixedAccum.Runtime.Boards.BoardPolicy.Target(board, low);
        }
        return (model, new ConversionReport(import, layers, ranges, normalization, onnx.LongLength, OutputBytes: 0, tau));
    }

    /// <summary>Converts once per candidate low mode, each calibrated to the target, and keeps the cheapest.</summary>
    private static (EmaModel Model, ConversionReport Report) ChooseLow(byte[] onnx, string name, ConvertOptions options, IProgress<(string Step, double Fraction)>? progress)
    {
        (WeightFormat W, EstimatorKind? E)[] candidates = [(WeightFormat.Int8, null), (WeightFormat.Fp16, EstimatorKind.Fused), (WeightFormat.Fp16, EstimatorKind.RowNorm)];
        // A board that only emulates fp16 accumulation (no FEAT_FP16: Pi 4, Jetson Nano, x64) never gets an fp16 plan.
        if (options.Board is { } board && !(board.CostRatios.TryGetValue(Precision.F16Acc, out var r16) && r16 is not null))
            candidates = [.. candidates.Where(c => c.W != WeightFormat.Fp16)];
        var tried = new List<LowModeCandidate>();
        (EmaModel Model, ConversionReport Report)? best = null;
        foreach (var (w, e) in candidates)
        {
            try
            {
                var r = Convert(onnx, name, options with { ChooseLow = false, Weights = w, CalibrationEstimator = e }, progress);
                var tau = r.Report.Tau!;
                tried.Add(new LowModeCandidate(w, e, tau.Cost, tau.Final.RecomputeFraction, null));
                if (best is null || tau.Cost < best.Value.Report.Tau!.Cost) best = r;
            }
            catch (EmaException ex)
            {
                tried.Add(new LowModeCandidate(w, e, null, 1, ex.Message));
            }
        }
        if (best is null)
            throw new EmaException("no low mode meets the target: " + string.Join("; ", tried.Select(t => $"{t.Weights}/{t.Estimator}: {t.Why}")));
        return (best.Value.Model, best.Value.Report with { Candidates = tried });
    }

    /// <summary>Converts and writes atomically: on any error nothing is written and an existing output stays.</summary>
    public static ConversionReport ConvertFile(string onnxPath, string outputPath, ConvertOptions options, IProgress<(string Step, double Fraction)>? progress = null)
    {
        var (model, report) = Convert(onnxPath, options, progress);
        progress?.Report(("write", 0));
        EmaWriter.Write(outputPath, model);
        progress?.Report(("write", 1));
        return report with { OutputBytes = new FileInfo(outputPath).Length };
    }

    /// <summary>Reports calibration progress synchronously (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SyncProgress(IProgress<(string, double)>? inner, string step = "calibrate") : IProgress<double>
    {
        public void Report(double value) => inner?.Report((step, value));
    }
}
