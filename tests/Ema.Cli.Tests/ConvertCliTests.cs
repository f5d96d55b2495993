using EdgeMixedAccum.Format;
using EdgeMixedAccum.Tests;

namespace EdgeMixedAccum.Cli.Tests;

/// <summary>`ema convert` end to end: real exports convert and describe; bad ONNX files fail in one
/// line with exit code 2 and leave nothing behind.</summary>
public sealed class ConvertCliTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("ema-convert-").FullName;
    private static string Fixture(string f) => Path.Combine(TestPaths.Fixtures, f);

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private static (int Code, string Out, string Err) Ema(params string[] args) => CliRunner.Ema(args);

    [Theory]
    [InlineData("fmnist-mlp-relu.onnx", "int8", "784")]
    [InlineData("fmnist-mlp-tanh.onnx", "fp16", "784")]
    [InlineData("fmnist-cnn.onnx", "int8", "1, 28, 28")]
    [InlineData("imu-conv1d.onnx", "fp32", "6, 64")]
    public void EveryFixtureConvertsAndInfoDescribesIt(string onnx, string weights, string inputDims)
    {
        string output = Path.Combine(_tmp, "m.ema");
        var (code, stdout, stderr) = Ema("convert", Fixture(onnx), "-o", output, "--weights", weights);
        Assert.True(code == 0, stderr);
        Assert.Contains("wrote", stdout);
        Assert.Contains("parameters", stdout);
        var model = EmaReader.Read(output);
        Assert.Equal(Path.GetFileNameWithoutExtension(onnx), model.Metadata.ModelName);

        var (icode, info, _) = Ema("info", output);
        Assert.Equal(0, icode);
        Assert.Contains($"[N, {inputDims}]", info);
        string dtype = weights switch { "int8" => "W Int8", "fp16" => "W Float16", _ => "W Float32" };
        Assert.Contains(dtype, info);
        Assert.Contains("plan " + weights switch { "int8" => "I8", "fp16" => "F16Acc", _ => "F32" }, info);
        Assert.Contains("tau", info);
    }

    [Fact]
    public void ABoardChoosesThePlanAndTheFeaturesTheRuntimeChecks()
    {
        string pi5 = Path.Combine(_tmp, "pi5.ema"), pi5f16 = Path.Combine(_tmp, "pi5f16.ema"), pi4 = Path.Combine(_tmp, "pi4.ema");
        var boards = Path.Combine(TestPaths.Root, "boards");
        var (code, o, err) = CliRunner.Ema("convert", Fixture("fmnist-mlp-tanh.onnx"), "-o", pi5, "--board", "rpi5", "--boards-dir", boards);
        Assert.True(code == 0, err);
        Assert.Contains("board rpi5", o);
        var m = EdgeMixedAccum.Format.EmaReader.Read(pi5);
        Assert.Equal("rpi5", m.Metadata.Target!.Board);
        Assert.Equal(["asimddp"], m.Metadata.Target.Features); // int8 on SDOT
        Assert.Contains(m.Graph.Nodes.OfType<EdgeMixedAccum.Graph.LayerNode>(), l => l.Plan.Precision == EdgeMixedAccum.Graph.Precision.I8);
        (code, o, err) = CliRunner.Ema("info", pi5);
        Assert.True(code == 0, err);
        Assert.Contains("board      rpi5 (needs asimddp;", o);
        // --weights overrides the board's plan; the target then names what that plan needs.
        Assert.Equal(0, CliRunner.Ema("convert", Fixture("fmnist-mlp-tanh.onnx"), "-o", pi5f16, "--board", "rpi5", "--weights", "fp16", "--boards-dir", boards).Code);
        Assert.Equal(["asimdhp"], EdgeMixedAccum.Format.EmaReader.Read(pi5f16).Metadata.Target!.Features);
        Assert.Equal(0, CliRunner.Ema("convert", Fixture("fmnist-mlp-tanh.onnx"), "-o", pi4, "--board", "rpi4", "--boards-dir", boards).Code);
        Assert.Empty(EdgeMixedAccum.Format.EmaReader.Read(pi4).Metadata.Target!.Features);
        // On this x64 machine the fp16 model falls back to int8 and says so.
        (code, o, err) = CliRunner.Ema("run", pi5f16, "--input", Fixture("fmnist-x.npy"), "--show", "1");
        Assert.True(code == 0, err);
        Assert.Contains("warning: model was converted for 'rpi5'", o);
        var (bad, _, why) = CliRunner.Ema("convert", Fixture("fmnist-mlp-tanh.onnx"), "-o", Path.Combine(_tmp, "x.ema"), "--board", "rpi9", "--boards-dir", boards);
        Assert.Equal(2, bad);
        Assert.Contains("rpi4, rpi5", why);
        Assert.False(File.Exists(Path.Combine(_tmp, "x.ema")));
    }

    [Fact]
    public void CalibrationAndNormalisationReachTheFile()
    {
        string output = Path.Combine(_tmp, "m.ema");
        var (code, stdout, stderr) = Ema("convert", Fixture("fmnist-mlp-relu.onnx"), "-o", output, "--calib", Fixture("fmnist-x.npy"),
            "--calib-method", "percentile", "--percentile", "99.9", "--normalize", "0.2860,0.3530", "--class-names", "a,b,c,d,e,f,g,h,i,j");
        Assert.True(code == 0, stderr);
        Assert.Contains("folded into the first layer", stdout);
        var model = EmaReader.Read(output);
        Assert.Null(model.Metadata.Normalization);
        Assert.Equal(10, model.Metadata.Labels.Count);
        // The static scale matters to int8-planned layers only; the head layer is planned fp32 (no scale).
        var i8 = model.Graph.Nodes.OfType<EdgeMixedAccum.Graph.LayerNode>().Where(l => l.Plan.Precision == EdgeMixedAccum.Graph.Precision.I8).ToList();
        Assert.NotEmpty(i8);
        Assert.All(i8, l => Assert.True(l.Plan.InputScale > 0));
    }

    private void AssertRefused(string onnxPath, params string[] mustMention)
    {
        string output = Path.Combine(_tmp, "out.ema");
        var (code, _, stderr) = Ema("convert", onnxPath, "-o", output);
        Assert.Equal(CliApp.ExitBadInput, code);
        Assert.Single(stderr.TrimEnd().Split('\n'));
        foreach (var m in mustMention) Assert.Contains(m, stderr);
        Assert.False(File.Exists(output), "no output may be written");
        Assert.Empty(Directory.GetFiles(_tmp, "*.tmp"));
    }

    [Fact]
    public void UnsupportedOpNamesTheOpTheNodeAndWhatIsSupported()
        => AssertRefused(Fixture("bad/unsupported-op.onnx"), "Cos", "weird_cos", "Gemm", "Conv");

    [Fact]
    public void ExternalDataIsRefused() => AssertRefused(Fixture("bad/external-data.onnx"), "external");

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.1)]
    [InlineData(0.999)]
    public void TruncatedProtobufIsRefused(double keep)
    {
        var bytes = File.ReadAllBytes(Fixture("fmnist-cnn.onnx"));
        string cut = Path.Combine(_tmp, "cut.onnx");
        File.WriteAllBytes(cut, bytes.AsSpan(0, (int)(bytes.Length * keep)).ToArray());
        AssertRefused(cut, "cut.onnx");
    }

    [Fact]
    public void MissingOnnxFileIsRefused() => AssertRefused(Path.Combine(_tmp, "nope.onnx"), "nope.onnx");

    [Fact]
    public void AFailedConversionLeavesAnExistingOutputUntouched()
    {
        string output = Path.Combine(_tmp, "keep.ema");
        File.WriteAllText(output, "previous");
        var (code, _, _) = Ema("convert", Fixture("bad/unsupported-op.onnx"), "-o", output);
        Assert.Equal(CliApp.ExitBadInput, code);
        Assert.Equal("previous", File.ReadAllText(output));
    }

    [Theory]
    [InlineData("0.5")]
    [InlineData("0.5,abc")]
    [InlineData("0.5,0")]
    [InlineData("1,2,3")]
    public void BadNormaliseArgumentsAreRefused(string value)
    {
        var (code, _, stderr) = Ema("convert", Fixture("fmnist-mlp-relu.onnx"), "-o", Path.Combine(_tmp, "x.ema"), "--normalize", value);
        Assert.Equal(CliApp.ExitBadInput, code);
        Assert.Contains("--normalize", stderr);
    }

    [Fact]
    public void CalibrationDataOfTheWrongShapeIsRefused()
    {
        var (code, _, stderr) = Ema("convert", Fixture("fmnist-cnn.onnx"), "-o", Path.Combine(_tmp, "x.ema"), "--calib", Fixture("imu-x.npy"));
        Assert.Equal(CliApp.ExitBadInput, code);
        Assert.Contains("imu-x.npy", stderr);
        Assert.False(File.Exists(Path.Combine(_tmp, "x.ema")));
    }
    [Fact]
    public void TargetAgreementCalibratesTauPerLayerAndPrintsWhatItReached()
    {
        // 200 calibration images keep the search fast; the converter tests check held-out behaviour.
        var all = EdgeMixedAccum.Npy.NpyFile.Read(Fixture("fmnist-x.npy")).ToFloat32();
        string calib = Path.Combine(_tmp, "calib.npy");
        EdgeMixedAccum.Npy.NpyFile.Write(calib, EdgeMixedAccum.Npy.NpyArray.FromFloat32(all.AsSpan(0, 200 * 784).ToArray(), 200, 1, 28, 28));
        string output = Path.Combine(_tmp, "m.ema");
        var (code, stdout, stderr) = Ema("convert", Fixture("fmnist-mlp-tanh.onnx"), "-o", output, "--calib", calib,
            "--normalize", "0.286,0.353", "--target-agreement", "0.999");
        Assert.True(code == 0, stderr);
        Assert.Contains("tau calibration (agreement >= 0.999, 200 inputs", stdout);
        Assert.Contains("calibration set: agreement 100.00", stdout);
        Assert.Contains("expected recompute fraction", stdout);
        var low = EmaReader.Read(output).Graph.Nodes.OfType<EdgeMixedAccum.Graph.LayerNode>()
            .Where(l => l.Plan.Precision != EdgeMixedAccum.Graph.Precision.F32).ToList();
        Assert.NotEmpty(low);
        foreach (var l in low) Assert.Contains($"{l.Name} (i8, ", stdout);
    }

    [Theory]
    [InlineData("--target-agreement", "0.99", null, "needs calibration inputs")]
    [InlineData("--target-error", "1e-3", null, "needs calibration inputs")]
    [InlineData("--target-error", "1e-3", "--target-agreement", "exclude each other")]
    public void TauTargetsNeedCalibrationAndExcludeEachOther(string option, string value, string? other, string message)
    {
        string output = Path.Combine(_tmp, "x.ema");
        var args = new List<string> { "convert", Fixture("fmnist-mlp-relu.onnx"), "-o", output, option, value };
        if (other is not null) args.AddRange([other, "0.99", "--calib", Fixture("fmnist-x.npy")]);
        var (code, _, stderr) = Ema([.. args]);
        Assert.Equal(CliApp.ExitBadInput, code);
        Assert.Contains(message, stderr);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void AnOutOfRangeTauTargetIsRefusedWithCode2()
    {
        // Agreement cannot exceed 1: refused before any work, naming the target.
        string output = Path.Combine(_tmp, "x.ema");
        var (code, _, stderr) = Ema("convert", Fixture("fmnist-mlp-relu.onnx"), "-o", output, "--calib", Fixture("fmnist-x.npy"), "--target-agreement", "1.5");
        Assert.Equal(CliApp.ExitBadInput, code);
        Assert.Contains("target agreement must be in (0, 1]", stderr);
        Assert.False(File.Exists(output));
    }
}
