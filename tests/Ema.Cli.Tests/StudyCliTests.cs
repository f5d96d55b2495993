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
        Assert.StartsWith("format,estimator,method,tau,recompute_fraction,cost,top1,agreement,mean_rel_error,max_rel_error,layer_fraction:", csv[0]);
        // Per series (2 formats x 2 estimators): uniform low and high, then 3 methods x 2 taus.
        Assert.Equal(1 + 4 * (2 + 6), csv.Length);
        Assert.Contains(csv, l => l.StartsWith("i8,rownorm,oracle,", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(outDir, "results.md")));
        foreach (var series in new[] { "fp16", "fp16+rownorm", "i8", "i8+rownorm" })
            Assert.True(File.Exists(Path.Combine(outDir, $"{series}-error-vs-cost.png")), series);
        Assert.Contains("wrote", stdout);
    }

    [Theory]
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
