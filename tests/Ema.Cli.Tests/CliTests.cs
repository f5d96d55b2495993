using EdgeMixedAccum.Format;
using EdgeMixedAccum.Npy;

namespace EdgeMixedAccum.Cli.Tests;

/// <summary>The `ema` command line end to end: the README's main job, and clear errors for bad input.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("ema-cli-").FullName;
    private static string Fixture(string f) => Path.Combine(EdgeMixedAccum.Tests.TestPaths.Fixtures, "gesture", f);

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private static (int Code, string Out, string Err) Ema(params string[] args) => CliRunner.Ema(args);

    [Fact]
    public void RunOnTheBundledModelReportsAccuracyAndWritesOutputs()
    {
        string outPath = Path.Combine(_tmp, "logits.npy");
        var (code, stdout, stderr) = Ema("run", Fixture("gesture-mlp.ema"), "--input", Fixture("gesture-x.npy"),
            "--labels", Fixture("gesture-y.npy"), "--output", outPath, "--show", "3");
        Assert.True(code == 0, stderr);
        Assert.Contains("256 input(s) [96] -> [4]", stdout);
        Assert.Contains("top-1 accuracy", stdout);
        var logits = NpyFile.Read(outPath);
        Assert.Equal(new[] { 256, 4 }, logits.Shape);

        // The printed accuracy is the share of argmax(logits) equal to the labels.
        var y = NpyFile.Read(Fixture("gesture-y.npy")).ToInt64();
        var l = logits.ToFloat32();
        int ok = 0;
        for (int i = 0; i < 256; i++)
        {
            int best = 0;
            for (int c = 1; c < 4; c++) if (l[i * 4 + c] > l[i * 4 + best]) best = c;
            if (best == y[i]) ok++;
        }
        Assert.Contains($"({ok}/256)", stdout);
    }

    [Fact]
    public void Fp64AndFp32ReferencesAgreeOnTheBundledModel()
    {
        string a = Path.Combine(_tmp, "a.npy"), b = Path.Combine(_tmp, "b.npy");
        Assert.Equal(0, Ema("run", Fixture("gesture-mlp.ema"), "-i", Fixture("gesture-x.npy"), "-o", a, "--mode", "f32").Code);
        Assert.Equal(0, Ema("run", Fixture("gesture-mlp.ema"), "-i", Fixture("gesture-x.npy"), "-o", b, "--mode", "f64").Code);
        var x = NpyFile.Read(a).ToFloat32(); var y = NpyFile.Read(b).ToFloat32();
        for (int i = 0; i < x.Length; i++) Assert.True(Math.Abs(x[i] - y[i]) <= 1e-4 * (1 + Math.Abs(y[i])), $"{i}: {x[i]} vs {y[i]}");
    }

    [Fact]
    public void OneSampleWithoutBatchDimensionIsABatchOfOne()
    {
        var x = NpyFile.Read(Fixture("gesture-x.npy")).ToFloat32().AsSpan(0, 96).ToArray();
        string p = Path.Combine(_tmp, "one.npy");
        NpyFile.Write(p, NpyArray.FromFloat32(x, 96));
        var (code, stdout, _) = Ema("run", Fixture("gesture-mlp.ema"), "-i", p);
        Assert.Equal(0, code);
        Assert.Contains("1 input(s)", stdout);
    }

    [Fact]
    public void InfoDescribesTheModel()
    {
        var (code, stdout, _) = Ema("info", Fixture("gesture-mlp.ema"));
        Assert.Equal(0, code);
        Assert.Contains("gesture-mlp", stdout);
        Assert.Contains("accel [N, 96]", stdout);
        Assert.Contains("idle, shake, wave, circle", stdout);
        Assert.Contains("fc1", stdout);
    }

    [Fact]
    public void MissingModelIsAClearError()
    {
        var (code, _, err) = Ema("info", Path.Combine(_tmp, "nope.ema"));
        Assert.Equal(CliApp.ExitBadInput, code);
        Assert.Contains("does not exist", err);
    }

    [Fact]
    public void CorruptModelNamesSectionAndOffset()
    {
        var bytes = File.ReadAllBytes(Fixture("gesture-mlp.ema"));
        string p = Path.Combine(_tmp, "bad.ema");
        File.WriteAllBytes(p, bytes.AsSpan(0, bytes.Length - 100).ToArray());
        var (code, _, err) = Ema("info", p);
        Assert.Equal(CliApp.ExitBadInput, code);
        Assert.Contains("section HEADER at byte 24", err);
        Assert.Contains("truncated", err);
    }

    [Fact]
    public void WrongInputShapeIsAClearError()
    {
        string p = Path.Combine(_tmp, "x.npy");
        NpyFile.Write(p, NpyArray.FromFloat32(new float[2 * 50], 2, 50));
        var (code, _, err) = Ema("run", Fixture("gesture-mlp.ema"), "-i", p);
        Assert.Equal(CliApp.ExitBadInput, code);
        Assert.Contains("[2, 50]", err);
        Assert.Contains("[N, 96]", err);
    }

    [Fact]
    public void LabelCountMismatchIsAClearError()
    {
        string p = Path.Combine(_tmp, "y.npy");
        NpyFile.Write(p, NpyArray.FromInt64(new long[3], 3));
        var (code, _, err) = Ema("run", Fixture("gesture-mlp.ema"), "-i", Fixture("gesture-x.npy"), "--labels", p);
        Assert.Equal(CliApp.ExitBadInput, code);
        Assert.Contains("3 labels for 256 inputs", err);
    }

    [Fact]
    public void NotAnNpyFileIsAClearError()
    {
        string p = Path.Combine(_tmp, "x.npy");
        File.WriteAllText(p, "hello");
        var (code, _, err) = Ema("run", Fixture("gesture-mlp.ema"), "-i", p);
        Assert.Equal(CliApp.ExitBadInput, code);
        Assert.Contains("x.npy", err);
    }

    [Fact]
    public void UnknownCommandIsAUsageError()
    {
        var (code, _, err) = Ema("frobnicate");
        Assert.NotEqual(0, code);
        Assert.NotEmpty(err);
    }
}
