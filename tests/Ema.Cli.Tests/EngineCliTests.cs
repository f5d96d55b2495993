using System.Security.Cryptography;
using System.Text.Json;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Npy;
using EdgeMixedAccum.Tests;

namespace EdgeMixedAccum.Cli.Tests;

/// <summary>The engine commands end to end on the bundled Fashion-MNIST model: `eval --json`, `run --report`,
/// `demo`, the bundled .ema kept in step with its ONNX source, and clear errors for corrupt inputs.</summary>
public sealed class EngineCliTests : IDisposable
{
    private const string ClassNames = "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot";
    private readonly string _tmp = Directory.CreateTempSubdirectory("ema-engine-").FullName;
    private static string Fixture(string f) => Path.Combine(TestPaths.Fixtures, f);
    private static string Model => Fixture("fmnist-mlp-tanh.ema");
    private static string X => Fixture("fmnist-x.npy");
    private static string Y => Fixture("fmnist-y.npy");

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private static (int Code, string Out, string Err) Ema(params string[] args) => CliRunner.Ema(args);

    /// <summary>The bundled model is exactly what `ema convert` makes of the bundled ONNX today. A .ema holds
    /// no path and no timestamp: the model name comes from the ONNX file name and the source hash from its
    /// bytes, so the same ONNX with the same options gives the same bytes, and any converter change that
    /// alters the output fails here until the fixture is regenerated (the command is in the assertion message).</summary>
    [Fact]
    public void BundledModelIsByteIdenticalToAFreshConversion()
    {
        string onnx = Fixture("fmnist-mlp-tanh.onnx");
        string fresh = Path.Combine(_tmp, "fmnist-mlp-tanh.ema");
        var (code, _, err) = Ema("convert", onnx, "-o", fresh, "--normalize", "0.286,0.353", "--class-names", ClassNames);
        Assert.True(code == 0, err);
        var bundled = File.ReadAllBytes(Model);
        var again = File.ReadAllBytes(fresh);
        Assert.True(bundled.AsSpan().SequenceEqual(again),
            $"tests/fixtures/fmnist-mlp-tanh.ema is stale: regenerate it with `ema convert tests/fixtures/fmnist-mlp-tanh.onnx -o tests/fixtures/fmnist-mlp-tanh.ema --normalize 0.286,0.353 --class-names \"{ClassNames}\"`");

        // What ties the file to its source: the ONNX bytes' SHA-256, the name, the labels.
        var m = EmaReader.Read(Model);
        Assert.Equal(SHA256.HashData(File.ReadAllBytes(onnx)), m.Metadata.SourceSha256);
        Assert.Equal("fmnist-mlp-tanh", m.Metadata.ModelName);
        Assert.Equal(ClassNames.Split(','), m.Metadata.Labels);
    }

    /// <summary>--threads splits each run's batch over worker lanes: the same logits and report bytes as one thread;
    /// eval (one sample at a time, with the audit) accepts it too.</summary>
    [Fact]
    public void RunWithThreadsWritesTheSameOutputsAndReport()
    {
        var files = new List<byte[]>();
        foreach (var threads in new[] { "1", "3" })
        {
            string logits = Path.Combine(_tmp, $"y{threads}.npy"), report = Path.Combine(_tmp, $"r{threads}.json");
            var (code, _, err) = Ema("run", Model, "--input", X, "--mode", "adaptive", "--threads", threads, "--output", logits, "--report", report);
            Assert.True(code == 0, err);
            files.Add(File.ReadAllBytes(logits));
            files.Add(File.ReadAllBytes(report));
        }
        Assert.True(files[0].AsSpan().SequenceEqual(files[2]), "logits differ");
        Assert.True(files[1].AsSpan().SequenceEqual(files[3]), "reports differ");
        var (c, o, e) = Ema("eval", Model, "--input", X, "--mode", "i8", "--limit", "20", "--threads", "2", "--json");
        Assert.True(c == 0, e);
        Assert.Equal(0, JsonDocument.Parse(o).RootElement.GetProperty("bound_violations").GetInt64());
    }

    private static JsonElement EvalJson(string mode)
    {
        var (code, stdout, err) = Ema("eval", Model, "--input", X, "--labels", Y, "--mode", mode, "--limit", "100", "--json");
        Assert.True(code == 0, err);
        return JsonDocument.Parse(stdout).RootElement;
    }

    [Fact]
    public void EvalJsonHasTheFiguresAndNoBoundViolations()
    {
        var r = new Dictionary<string, JsonElement>();
        foreach (var mode in new[] { "i8", "f16acc", "adaptive" })
        {
            var j = EvalJson(mode);
            foreach (var key in new[] { "top1", "agreement", "recompute_fraction", "max_rel_error", "mean_rel_error", "bound_violations", "layers" })
                Assert.True(j.TryGetProperty(key, out _), $"{mode}: no key {key}");
            Assert.Equal(100, j.GetProperty("samples").GetInt32());
            Assert.Equal(0, j.GetProperty("bound_violations").GetInt64());
            Assert.Equal(3, j.GetProperty("layers").GetArrayLength());
            r[mode] = j;
        }
        Assert.True(r["adaptive"].GetProperty("agreement").GetDouble() >= r["i8"].GetProperty("agreement").GetDouble());
        Assert.True(r["adaptive"].GetProperty("mean_rel_error").GetDouble() < r["i8"].GetProperty("mean_rel_error").GetDouble());
        Assert.Equal(0, r["i8"].GetProperty("recompute_fraction").GetDouble(), 12);
        double f = r["adaptive"].GetProperty("recompute_fraction").GetDouble();
        Assert.InRange(f, 0.0, 1.0);
    }

    [Fact]
    public void RunWritesAPerLayerReport()
    {
        string report = Path.Combine(_tmp, "r.json"), logits = Path.Combine(_tmp, "y.npy");
        var (code, stdout, err) = Ema("run", Model, "--input", X, "--labels", Y, "--report", report, "--output", logits, "--show", "2");
        Assert.True(code == 0, err);
        Assert.Contains("1000 input(s) [1, 28, 28] -> [10]", stdout);
        Assert.Contains("mode adaptive", stdout);
        Assert.Matches(@"(?m)^top-1 accuracy \d+\.\d\d % \(\d+/1000\)$", stdout);
        Assert.Equal(new[] { 1000, 10 }, NpyFile.Read(logits).Shape);

        var j = JsonDocument.Parse(File.ReadAllText(report)).RootElement;
        Assert.Equal("adaptive", j.GetProperty("mode").GetString());
        Assert.Equal(1000, j.GetProperty("samples").GetInt32());
        long macs = 0, f32Macs = 0;
        var layers = j.GetProperty("layers");
        Assert.Equal(3, layers.GetArrayLength());
        foreach (var l in layers.EnumerateArray())
        {
            foreach (var key in new[] { "name", "op", "precision", "inner_length", "components", "flagged", "non_finite", "macs", "f32_macs", "max_predicted_rel_error" })
                Assert.True(l.TryGetProperty(key, out _), $"layer without {key}");
            long comps = l.GetProperty("components").GetInt64(), flagged = l.GetProperty("flagged").GetInt64();
            Assert.True(comps > 0);
            Assert.InRange(flagged, 0, comps);
            Assert.Equal(comps * l.GetProperty("inner_length").GetInt64(), l.GetProperty("macs").GetInt64());
            macs += l.GetProperty("macs").GetInt64(); f32Macs += l.GetProperty("f32_macs").GetInt64();
        }
        Assert.Equal((double)f32Macs / macs, j.GetProperty("recompute_fraction").GetDouble(), 12);
        Assert.InRange(j.GetProperty("recompute_component_fraction").GetDouble(), 0.0, 1.0);
        // fc1 and fc2 have 256 and 128 outputs per sample.
        Assert.Equal(256_000, layers[0].GetProperty("components").GetInt64());
        Assert.Equal("f32", layers[2].GetProperty("precision").GetString());
    }

    [Theory]
    [InlineData("f32")]
    [InlineData("i8")]
    [InlineData("f16acc")]
    [InlineData("f64")]
    public void RunAcceptsEveryMode(string mode)
    {
        var (code, stdout, err) = Ema("run", Model, "--input", X, "--labels", Y, "--mode", mode, "--show", "0");
        Assert.True(code == 0, err);
        Assert.Contains("top-1 accuracy", stdout);
    }

    [Fact]
    public void DemoPrintsEveryMode()
    {
        var (code, stdout, err) = Ema("demo", "--limit", "50");
        Assert.True(code == 0, err);
        var rows = stdout.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(c => c.Length > 0).ToList();
        foreach (var mode in new[] { "f32", "i8", "adaptive", "f16acc", "adaptive-f16acc" })
        {
            var row = rows.FirstOrDefault(c => c[0] == mode);
            Assert.True(row is not null, $"no row for {mode}:\n{stdout}");
            Assert.Contains("%", row);
        }
        Assert.Contains("50 samples", stdout);
        Assert.Contains("bound violations", stdout, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("they must be 0, and they are", stdout);
    }

    [Fact]
    public void DemoNamesThePathsItTriedWhenTheModelIsMissing()
    {
        var (code, _, err) = Ema("demo", "--model", Path.Combine(_tmp, "nope.ema"));
        Assert.Equal(CliApp.ExitBadInput, code);
        Assert.Contains("does not exist", err);
    }

    [Fact]
    public void WrongInputShapeIsAClearError()
    {
        string p = Path.Combine(_tmp, "x.npy");
        NpyFile.Write(p, NpyArray.FromFloat32(new float[2 * 50], 2, 50));
        var (code, _, err) = Ema("run", Model, "-i", p);
        Assert.Equal(CliApp.ExitBadInput, code);
        Assert.StartsWith("error:", err);
        Assert.Contains("[2, 50]", err);
        Assert.Contains("[N, 1, 28, 28]", err);
    }

    [Theory]
    [InlineData("run")]
    [InlineData("eval")]
    public void NaNInTheInputIsAClearError(string command)
    {
        var x = NpyFile.Read(X).ToFloat32().AsSpan(0, 3 * 784).ToArray();
        x[784 + 5] = float.NaN;
        string p = Path.Combine(_tmp, "nan.npy");
        NpyFile.Write(p, NpyArray.FromFloat32(x, 3, 1, 28, 28));
        var (code, _, err) = Ema(command, Model, "-i", p);
        Assert.Equal(CliApp.ExitBadInput, code);
        Assert.Contains("nan.npy", err);
        Assert.Contains("sample 1", err);
        Assert.Contains("finite", err);
    }

    [Fact]
    public void TruncatedNpyIsAClearError()
    {
        var bytes = File.ReadAllBytes(X);
        string p = Path.Combine(_tmp, "cut.npy");
        File.WriteAllBytes(p, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        var (code, _, err) = Ema("run", Model, "-i", p);
        Assert.Equal(CliApp.ExitBadInput, code);
        Assert.Contains("cut.npy", err);
        Assert.Contains("truncated", err, StringComparison.OrdinalIgnoreCase);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("run")]
    [InlineData("eval")]
    public void MissingModelIsAClearError(string command)
    {
        var (code, _, err) = Ema(command, Path.Combine(_tmp, "nope.ema"), "-i", X);
        Assert.Equal(CliApp.ExitBadInput, code);
        Assert.Contains("nope.ema", err);
        Assert.Contains("does not exist", err);
    }

    [Fact]
    public void CorruptModelIsAClearError()
    {
        var bytes = File.ReadAllBytes(Model);
        bytes[bytes.Length / 2] ^= 0x40;    // inside the weights
        string p = Path.Combine(_tmp, "flipped.ema");
        File.WriteAllBytes(p, bytes);
        var (code, _, err) = Ema("run", p, "-i", X);
        Assert.Equal(CliApp.ExitBadInput, code);
        Assert.StartsWith("error:", err);
        Assert.Contains("CRC", err);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("run")]
    [InlineData("eval")]
    public void LabelCountMismatchIsAClearError(string command)
    {
        string p = Path.Combine(_tmp, "y.npy");
        NpyFile.Write(p, NpyArray.FromInt64(new long[3], 3));
        var (code, _, err) = Ema(command, Model, "-i", X, "--labels", p);
        Assert.Equal(CliApp.ExitBadInput, code);
        Assert.Contains("3 labels for 1000 inputs", err);
    }
}
