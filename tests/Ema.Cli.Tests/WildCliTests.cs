using EdgeMixedAccum.Npy;
using EdgeMixedAccum.Tests;

namespace EdgeMixedAccum.Cli.Tests;

/// <summary>Issue 10 through the CLI: data-dependent control flow is refused (op type, node name, the supported
/// list, exit code 2, nothing written); models exported with a fixed batch of 1 convert and then take a whole
/// 1000-row .npy in `ema run`, `ema eval` and `ema bench`; a sample shape that does not fit is a clear error.</summary>
public sealed class WildCliTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("ema-wild-").FullName;
    private static string Fixture(string f) => Path.Combine(TestPaths.Fixtures, f);
    private static string Wild(string f) => Path.Combine(TestPaths.Fixtures, "wild", f);

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    [Theory]
    [InlineData("control-if.onnx", "If", "gate_if")]
    [InlineData("control-loop.onnx", "Loop", "refine_loop")]
    [InlineData("control-scan.onnx", "Scan", "cumsum_scan")]
    public void ControlFlowIsRefusedNamingTheOpTheNodeAndWhatIsSupported(string file, string op, string node)
    {
        string output = Path.Combine(_tmp, "out.ema");
        var (code, stdout, stderr) = CliRunner.Ema("convert", Fixture("bad/" + file), "-o", output);
        Assert.Equal(CliApp.ExitBadInput, code);
        Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.Contains($"unsupported op {op} (node '{node}')", stderr);
        Assert.Contains("supported ops", stderr);
        foreach (var known in new[] { "Conv", "Gemm", "LayerNormalization", "Transpose" }) Assert.Contains(known, stderr);
        Assert.DoesNotContain("wrote", stdout);
        Assert.False(File.Exists(output), "no output may be written");
        Assert.Empty(Directory.GetFiles(_tmp));
    }

    [Theory]
    [InlineData("ln-mlp-opset13.onnx", "../fmnist-x.npy", "../fmnist-y.npy", "0.286,0.353", 10)]
    [InlineData("kws-reshape.onnx", "kws-x.npy", "kws-y.npy", null, 6)]
    public void FixedBatchExportRunsA1000RowNpyInOneCall(string onnx, string x, string y, string? normalize, int classes)
    {
        string model = Path.Combine(_tmp, "m.ema");
        var args = new List<string> { "convert", Wild(onnx), "-o", model };
        if (normalize is not null) args.AddRange(["--normalize", normalize]);
        var (code, stdout, stderr) = CliRunner.Ema([.. args]);
        Assert.True(code == 0, stderr);
        Assert.Contains("fixed batch dim 1 was made symbolic", stdout);

        string outPath = Path.Combine(_tmp, "y.npy");
        (code, stdout, stderr) = CliRunner.Ema("run", model, "-i", Wild(x), "--labels", Wild(y), "-o", outPath);
        Assert.True(code == 0, stderr);
        Assert.Equal(new[] { 1000, classes }, NpyFile.Read(outPath).Shape);
        Assert.Contains("top-1 accuracy", stdout);

        (code, stdout, stderr) = CliRunner.Ema("eval", model, "-i", Wild(x), "--labels", Wild(y));
        Assert.True(code == 0, stderr);
        Assert.Contains("1000 samples", stdout);

        (code, stdout, stderr) = CliRunner.Ema("bench", model, "--input", Wild(x), "--runs", "5");
        Assert.True(code == 0, stderr);
    }

    [Fact]
    public void ASampleShapeThatDoesNotFitIsAClearError()
    {
        string model = Path.Combine(_tmp, "m.ema");
        Assert.Equal(0, CliRunner.Ema("convert", Wild("kws-reshape.onnx"), "-o", model).Code);
        var (code, _, stderr) = CliRunner.Ema("run", model, "-i", Fixture("fmnist-x.npy"));
        Assert.Equal(CliApp.ExitBadInput, code);
        Assert.Contains("fmnist-x.npy", stderr);
        Assert.Contains("[1000, 1, 28, 28]", stderr);
        Assert.Contains("[N, 40, 32, 1]", stderr);
    }
}
