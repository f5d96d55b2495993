using System.Security.Cryptography;
using System.Text.Json;
using EdgeMixedAccum.Converters;
using EdgeMixedAccum.Converters.Quantization;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Npy;
using EdgeMixedAccum.Tests;
using Xunit.Abstractions;

namespace EdgeMixedAccum.Converters.Tests.Fixtures;

/// <summary>
/// The baro-mlp regression fixture (issue 5, item 4; tests/fixtures/train_fixtures.py): a 3-32-32-1 tanh
/// altimeter on raw barometer readings (pressure and QNH in Pa, temperature in degC). The fp32 conversion
/// against ORT is FixtureOracleTests.Fp32MatchesOnnxRuntime; here: the bundled fp16 .ema that
/// Runtime.Tests' OverflowFixtureTests reads is what the converter makes today, ORT reproduces the recorded
/// error, and what fp16 and int8 weight storage cost in metres.
/// </summary>
public class BaroFixtureTests(ITestOutputHelper output)
{
    private static FixtureOracleTests.Fixture Baro => FixtureOracleTests.All.Single(f => f.Model == "baro-mlp.onnx");
    private static string Path(string name) => System.IO.Path.Combine(TestPaths.Fixtures, name);

    [Fact]
    public void BundledEmaIsByteIdenticalToAFreshFp16Conversion()
    {
        string tmp = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"baro-{Guid.NewGuid():N}");
        Directory.CreateDirectory(tmp);
        try
        {
            string fresh = System.IO.Path.Combine(tmp, "baro-mlp.ema");
            Converter.ConvertFile(Path("baro-mlp.onnx"), fresh, new ConvertOptions { Weights = WeightFormat.Fp16 });
            Assert.True(File.ReadAllBytes(Path("baro-mlp.ema")).AsSpan().SequenceEqual(File.ReadAllBytes(fresh)),
                "tests/fixtures/baro-mlp.ema is stale: regenerate it with `ema convert tests/fixtures/baro-mlp.onnx -o tests/fixtures/baro-mlp.ema --weights fp16`");
        }
        finally { Directory.Delete(tmp, true); }
        var m = EmaReader.Read(Path("baro-mlp.ema"));
        Assert.Equal(SHA256.HashData(File.ReadAllBytes(Path("baro-mlp.onnx"))), m.Metadata.SourceSha256);
    }

    [Fact]
    public void OrtReproducesTheRecordedTestError()
    {
        var (_, shape, ort, per) = FixtureOracleTests.Oracle(Baro);
        Assert.Equal(1, per);
        var h = NpyFile.Read(Path(Baro.Labels)).ToFloat32();
        double mae = 0;
        for (int s = 0; s < shape[0]; s++) mae += Math.Abs(ort[s] - h[s]) / shape[0];
        double recorded = JsonDocument.Parse(File.ReadAllText(Path("fixtures.json"))).RootElement.EnumerateArray()
            .Single(e => e.GetProperty("model").GetString() == "baro-mlp.onnx").GetProperty("test_mae_bundled").GetDouble();
        Assert.Equal(recorded, mae, 3);
    }

    /// <summary>fp16 weight storage against ORT (m), every reading. The first layer's pressure and QNH
    /// weights (1e-5 to 2e-4, many of them fp16 subnormals below 6.1e-5) lose up to about 1e-3 of
    /// themselves in fp16, and so do the terms w * p of a few units that decide the altitude: measured
    /// 1.85 m worst, mean error against the physics 1.63 m (ORT 1.38 m). Budget 3 m.</summary>
    private const double Fp16WeightsBudgetMetres = 3.0;

    [Fact]
    public void Fp16WeightsStayWithinMetresOfOrt()
    {
        var (x, shape, ort, _) = FixtureOracleTests.Oracle(Baro);
        var h = NpyFile.Read(Path(Baro.Labels)).ToFloat32();
        foreach (var w in new[] { WeightFormat.Fp16, WeightFormat.Int8 })
        {
            var y = FixtureOracleTests.Run(FixtureOracleTests.Convert(Baro, w), x, shape);
            double worst = 0, mae = 0;
            for (int s = 0; s < shape[0]; s++) { worst = Math.Max(worst, Math.Abs(y[s] - ort[s])); mae += Math.Abs(y[s] - h[s]) / shape[0]; }
            output.WriteLine($"{w}: worst |y - ORT| {worst:F3} m, mean |y - h| {mae:F3} m");
            // int8 is measured, not asserted: per-row int8 puts the pressure weights (1e-4) on the step of the
            // row's temperature weight (1e-2 / 127), 1782 m worst on x64 -- why the bundled .ema is fp16.
            if (w == WeightFormat.Fp16) Assert.True(worst <= Fp16WeightsBudgetMetres, $"fp16 weights: worst {worst:F3} m from ORT");
        }
    }
}
