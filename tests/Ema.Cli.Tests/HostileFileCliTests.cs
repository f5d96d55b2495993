using EdgeMixedAccum.Fuzzing;
using EdgeMixedAccum.Tests;

namespace EdgeMixedAccum.Cli.Tests;

/// <summary>
/// What a user sees for a hostile model file: `ema info` and `ema run` end with exit code 0 or 2 and one clear
/// "error:" line, never the internal-error exit code (70) with a stack trace (issue 8).
/// </summary>
public class HostileFileCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ema-cli-hostile-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void MutatedModels_GiveACleanErrorOrWork()
    {
        var file = File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "baro-mlp.ema"));
        string path = Path.Combine(_dir, "m.ema");
        int ok = 0, refused = 0;
        for (int seed = 1; seed <= 150; seed++)
        {
            var (bytes, what) = Mutations.Mutate(file, seed, ema: true);
            File.WriteAllBytes(path, bytes);
            var (code, _, err) = CliRunner.Ema("info", path);
            Assert.True(code is 0 or CliApp.ExitBadInput, $"{what}: exit {code}: {err}");
            if (code == 0) ok++;
            else
            {
                refused++;
                Assert.StartsWith("error: ", err);
                Assert.Contains("m.ema", err);
                Assert.Single(err.TrimEnd().Split('\n'));
            }
        }
        Assert.True(ok > 0 && refused > 0, $"{ok} loaded, {refused} refused");
    }

    [Fact]
    public void MutatedOnnx_GivesACleanErrorOrConverts()
    {
        var file = File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "baro-mlp.onnx"));
        string path = Path.Combine(_dir, "m.onnx"), output = Path.Combine(_dir, "m.ema");
        for (int seed = 1; seed <= 60; seed++)
        {
            var (bytes, what) = Mutations.Mutate(file, seed, ema: false);
            File.WriteAllBytes(path, bytes);
            var (code, _, err) = CliRunner.Ema("convert", path, "-o", output);
            Assert.True(code is 0 or CliApp.ExitBadInput, $"{what}: exit {code}: {err}");
            if (code != 0) Assert.StartsWith("error: ", err);
        }
    }
}
