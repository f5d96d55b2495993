using System.Text.Json;
using EdgeMixedAccum.Tests;

namespace EdgeMixedAccum.Cli.Tests;

/// <summary>`ema bench`: the numbers it promises and its refusals (timings themselves are never asserted).</summary>
public class BenchCliTests
{
    private static string Fixture(string f) => Path.Combine(TestPaths.Fixtures, f);

    [Fact]
    public void JsonHasMedianP90AndPerSampleOverTheRequestedRuns()
    {
        var (code, o, err) = CliRunner.Ema("bench", Fixture("fmnist-mlp-tanh.ema"), "--batch", "4", "--runs", "7", "--json",
            "--input", Fixture("fmnist-x.npy"));
        Assert.True(code == 0, err);
        var j = JsonDocument.Parse(o.Trim()).RootElement;
        Assert.Equal(7, j.GetProperty("runs").GetInt32());
        Assert.Equal(4, j.GetProperty("batch").GetInt32());
        Assert.Equal("adaptive", j.GetProperty("mode").GetString());
        Assert.Equal("file", j.GetProperty("inputs").GetString());
        double median = j.GetProperty("median_us").GetDouble(), p90 = j.GetProperty("p90_us").GetDouble();
        Assert.True(median > 0 && p90 >= median, $"median {median}, p90 {p90}");
        Assert.Equal(median / 4, j.GetProperty("per_sample_us").GetDouble(), 2);
        // Real inputs: adaptive mode recomputes part of the multiply-adds (the bundled model's plan), not none and not all.
        Assert.InRange(j.GetProperty("recompute_fraction").GetDouble(), 0.01, 0.99);
    }

    [Fact]
    public void UniformModesRecomputeNothingAndTheTextReportNamesTheInputs()
    {
        var (code, o, err) = CliRunner.Ema("bench", Fixture("fmnist-mlp-tanh.ema"), "--mode", "i8", "--runs", "3");
        Assert.True(code == 0, err);
        Assert.Contains("mode i8, batch 1, 1 thread(s), 3 runs on uniform [-1, 1] inputs", o);
        Assert.Contains("recomputed in fp32: 0.00 %", o);
    }

    /// <summary>An exact warm-up count (instruction counts under qemu subtract two such runs): the runs asked for, no
    /// more, and the ISA note only where the CPU has a level the process cannot use (never under the test JIT).</summary>
    [Fact]
    public void AnExactWarmupRunsJustTheRequestedRuns()
    {
        var (code, o, err) = CliRunner.Ema("bench", Fixture("fmnist-mlp-tanh.ema"), "--mode", "i8", "--warmup", "0", "--runs", "5", "--json",
            "--input", Fixture("fmnist-x.npy"));
        Assert.True(code == 0, err);
        var j = JsonDocument.Parse(o.Trim()).RootElement;
        Assert.Equal(5, j.GetProperty("runs").GetInt32());
        Assert.Equal("", j.GetProperty("unused_isa").GetString());
    }

    [Fact]
    public void ThreadsSplitTheBatchAndTheJsonSaysHowMany()
    {
        var (code, o, err) = CliRunner.Ema("bench", Fixture("fmnist-mlp-tanh.ema"), "--mode", "i8", "--batch", "5", "--threads", "2",
            "--runs", "3", "--json");
        Assert.True(code == 0, err);
        var j = JsonDocument.Parse(o.Trim()).RootElement;
        Assert.Equal(2, j.GetProperty("threads").GetInt32());
        Assert.Equal(5, j.GetProperty("batch").GetInt32());
    }

    [Theory]
    [InlineData("--batch", "0")]
    [InlineData("--threads", "0")]
    [InlineData("--threads", "65")]
    [InlineData("--runs", "0")]
    [InlineData("--warmup", "-1")]
    [InlineData("--input", "imu-x.npy")]
    public void BadArgumentsExitWithCodeTwo(string option, string value)
    {
        var args = new List<string> { "bench", Fixture("fmnist-mlp-tanh.ema") };
        if (option != "--runs") args.AddRange(["--runs", "2"]);
        args.AddRange([option, option == "--input" ? Fixture(value) : value]);
        var (code, _, err) = CliRunner.Ema([.. args]);
        Assert.Equal(2, code);
        Assert.Contains("error:", err);
    }
}
