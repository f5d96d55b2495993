using EdgeMixedAccum.Tests;

namespace EdgeMixedAccum.Cli.Tests;

/// <summary>`ema study` end to end on a few samples: the files it promises, and clear errors for bad options.</summary>
public sealed class StudyCliTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("ema-study-cli").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private static string Fixture(string f) => Path.Combine(TestPaths.Fixtures, f);

    [Fact]
    public void StudyWritesCsvMarkdownAndPlots()
    {
        string outDir = Path.Combine(_tmp, "out");
        var (code, stdout, err) = CliRunner.Ema("study", Fixture("fmnist-mlp-tanh.onnx"), "--normalize", "0.286,0.353",
            "--input", Fixture("fmnist-x.npy"), "--labels", Fixture("fmnist-y.npy"), "--formats", "fp16,i8", "--taus", "0.1:0.01:2",
            "--estimators", "fused,rownorm", "--limit", "8", "--out", outDir);
        Assert.True(code == 0, err);
        var csv = File.ReadAllLines(Path.Combine(outDir, "results.csv"));
        Assert.StartsWith("format,ladder,estimator,criterion,method,tau,recompute_fraction,component_fraction,mid_fraction,cost,top1,agreement,mean_rel_error,max_rel_error,layer_fraction:", csv[0]);
        // Per series (2 formats x 2 estimators): uniform low and high, then 3 methods x 2 taus; then the fp32 reference.
        Assert.Equal(1 + 4 * (2 + 6) + 1, csv.Length);
        Assert.Contains(csv, l => l.StartsWith("i8,i8:fp32,rownorm,full+sign,oracle,", StringComparison.Ordinal));
        Assert.StartsWith("fp32,fp32,fused,,uniform_high,", csv[^1]);
        Assert.True(File.Exists(Path.Combine(outDir, "results.md")));
        foreach (var series in new[] { "fp16", "fp16+rownorm", "i8", "i8+rownorm" })
            Assert.True(File.Exists(Path.Combine(outDir, $"{series}-error-vs-cost.png")), series);
        Assert.Contains("wrote", stdout);
    }

    [Fact]
    public void TheAuthorsSetupRunsFromOneCommand()
    {
        string outDir = Path.Combine(_tmp, "authors");
        var (code, stdout, err) = CliRunner.Ema("study", Fixture("fmnist-mlp-relu.onnx"), "--normalize", "0.286,0.353",
            "--input", Fixture("fmnist-x.npy"), "--labels", Fixture("fmnist-y.npy"), "--ladder", "fp8-e4m3:fp16", "--weights-format", "fp8-e4m3",
            "--inputs", "fp32", "--head", "mixed", "--criterion", "authors,full", "--taus", "1,0.1", "--limit", "6", "--out", outDir);
        Assert.True(code == 0, err);
        var csv = File.ReadAllLines(Path.Combine(outDir, "results.csv"));
        // uniform low and high, 2 criteria x 2 taus x 3 methods, the fp32 reference: no fp16:fp32 etc. without --formats.
        Assert.Equal(1 + 2 + 12 + 1, csv.Length);
        Assert.All(csv[1..^1], l => Assert.StartsWith("fp8-e4m3,fp8-e4m3:fp16,fused,", l));
        Assert.Contains(csv, l => l.StartsWith("fp8-e4m3,fp8-e4m3:fp16,fused,authors,random,0.1,", StringComparison.Ordinal));
        var md = File.ReadAllText(Path.Combine(outDir, "results.md"));
        Assert.Contains("| criterion | tau | fp8-e4m3 | fp16 | fp32 | mixed |", md);
        Assert.Contains("Criteria at equal share", md);
        Assert.True(File.Exists(Path.Combine(outDir, "fp8-e4m3_fp16-error-vs-share.png")));
        Assert.Contains("(fp8-e4m3_fp16-error-vs-share.png)", md);
    }

    [Theory]
    [InlineData("--ladder", "fp16:i8")]
    [InlineData("--criterion", "best")]
    [InlineData("--weights-format", "i8")]
    [InlineData("--inputs", "fp64")]
    [InlineData("--block", "0")]
    [InlineData("--head", "fp64")]
    [InlineData("--tau-negative", "-1")]
    [InlineData("--taus", "0.1:0:3")]
    [InlineData("--formats", "fp4")]
    [InlineData("--estimators", "exact")]
    public void BadOptionsExitWithCodeTwo(string option, string value)
    {
        var (code, _, err) = CliRunner.Ema("study", Fixture("fmnist-mlp-tanh.ema"), "--input", Fixture("fmnist-x.npy"),
            "--limit", "2", "--out", Path.Combine(_tmp, "bad"), option, value);
        Assert.Equal(2, code);
        Assert.Contains("error:", err);
    }
}
