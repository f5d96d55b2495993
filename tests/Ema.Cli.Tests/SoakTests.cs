using EdgeMixedAccum.Cli;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Npy;
using EdgeMixedAccum.Runtime.Engine;
using EdgeMixedAccum.Tests;
using Xunit.Abstractions;

namespace EdgeMixedAccum.Cli.Tests;

/// <summary>The soak runs alone: its flat-memory check reads the whole process's live heap.</summary>
[CollectionDefinition("Soak", DisableParallelization = true)]
public sealed class SoakCollection;

/// <summary>
/// Issue 8's soak, the CI length (about 20 s together): Session.Run on the Fashion-MNIST fixture's real inputs in
/// adaptive mode, and the sensor loop on the simulated MPU6050 with the gesture fixture, each checked for zero
/// steady-state allocation, flat memory and bit-identical outputs for recurring inputs (<see cref="Soak"/>).
/// EMA_SOAK_N sets the inferences per part (the documented full run is `ema soak` with --n 1000000: docs/reliability.md).
/// </summary>
[Collection("Soak")]
public class SoakTests(ITestOutputHelper output)
{
    private static long N(long ci) => long.TryParse(Environment.GetEnvironmentVariable("EMA_SOAK_N"), out long n) && n > 0 ? n : ci;

    private void Check(Soak.Result r, long n)
    {
        output.WriteLine(r.ToString());
        Assert.Equal(n, r.Inferences);
        Assert.Equal(0, r.SteadyAllocatedBytes);
        Assert.Equal(0, r.Mismatches);
        Assert.True(r.ManagedEnd - r.ManagedStart <= Soak.FlatManagedBytes, r.ToString());
        Assert.True(r.WorkingSetEnd - r.WorkingSetStart <= Soak.FlatWorkingSetBytes, r.ToString());
        Assert.True(r.Passed);
    }

    [Theory]
    [InlineData(RunMode.Adaptive)]
    [InlineData(RunMode.I8)]
    public void SessionRun_SteadyState(RunMode mode)
    {
        var model = EmaReader.Read(Path.Combine(TestPaths.Fixtures, "fmnist-mlp-tanh.ema"));
        var x = NpyFile.Read(Path.Combine(TestPaths.Fixtures, "fmnist-x.npy"));
        long n = N(mode == RunMode.Adaptive ? 60_000 : 30_000);
        var r = Soak.RunSession(model, new SessionOptions { Mode = mode }, x.ToFloat32(), n);
        Assert.Equal(64, r.DistinctInputs);
        Check(r, n);
    }

    [Fact]
    public void SensorLoop_SteadyState()
    {
        var model = EmaReader.Read(Path.Combine(TestPaths.Fixtures, "gesture", "gesture-mlp.ema"));
        long n = N(150_000);
        var r = Soak.RunLoop(model, new SessionOptions { Mode = RunMode.Adaptive }, n);
        Assert.Equal(Soak.SignalPeriod / 4, r.DistinctInputs); // hop 4: 25 phases of the 100-sample signal
        Check(r, n);
    }

    [Fact]
    public void Result_FailsOnAnyAllocationMismatchOrGrowth()
    {
        var ok = new Soak.Result("t", 10, 1, 0, 0, 1, 1000, 1000, 1000, 1 << 20, 1 << 20, 1 << 20);
        Assert.True(ok.Passed);
        Assert.False((ok with { SteadyAllocatedBytes = 24 }).Passed);
        Assert.False((ok with { Mismatches = 1 }).Passed);
        Assert.False((ok with { ManagedEnd = 1000 + Soak.FlatManagedBytes + 1 }).Passed);
        Assert.False((ok with { WorkingSetEnd = (1 << 20) + Soak.FlatWorkingSetBytes + 1 }).Passed);
    }

    [Fact]
    public void SoakCommand_PrintsOnePassingLinePerPart()
    {
        var (code, stdout, stderr) = CliRunner.Ema("soak", Path.Combine(TestPaths.Fixtures, "gesture", "gesture-mlp.ema"), "--n", "3000", "--json");
        Assert.True(code == 0, stderr + stdout);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Contains("\"part\":\"session\"", lines[0]);
        Assert.Contains("\"part\":\"loop\"", lines[1]);
        Assert.All(lines, l => Assert.Contains("\"passed\":true", l));
        var (bad, _, err) = CliRunner.Ema("soak", Path.Combine(TestPaths.Fixtures, "gesture", "gesture-mlp.ema"), "--n", "0");
        Assert.Equal(CliApp.ExitBadInput, bad);
        Assert.Contains("--n 0", err);
    }
}
