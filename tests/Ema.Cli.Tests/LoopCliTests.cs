using System.Globalization;
using System.Text;
using System.Text.Json;
using EdgeMixedAccum.Npy;
using EdgeMixedAccum.Tests;

namespace EdgeMixedAccum.Cli.Tests;

/// <summary>`ema loop` end to end on the 1D-conv IMU fixture: a replay file, and a simulated MPU6050 with a flaky bus.</summary>
public sealed class LoopCliTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("ema-loop-cli").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private string ImuModel()
    {
        string ema = Path.Combine(_tmp, "imu.ema");
        var (code, _, err) = CliRunner.Ema("convert", Path.Combine(TestPaths.Fixtures, "imu-conv1d.onnx"), "-o", ema);
        Assert.True(code == 0, err);
        return ema;
    }

    private static List<JsonElement> Lines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    [Fact]
    public void AReplayOfThreeTestWindowsGivesTheSamePredictionsAsRun()
    {
        string ema = ImuModel();
        // Three test windows [6, 64] laid end to end in time: with window 64 and hop 64 the loop sees exactly them.
        var x = NpyFile.Read(Path.Combine(TestPaths.Fixtures, "imu-x.npy")).ToFloat32();
        var csv = new StringBuilder("t,ax,ay,az,gx,gy,gz\n");
        for (int w = 0; w < 3; w++)
            for (int t = 0; t < 64; t++)
            {
                csv.Append(((w * 64 + t) * 0.01).ToString("R", CultureInfo.InvariantCulture));
                for (int c = 0; c < 6; c++) csv.Append(',').Append(x[w * 384 + c * 64 + t].ToString("R", CultureInfo.InvariantCulture));
                csv.Append('\n');
            }
        string replay = Path.Combine(_tmp, "imu.csv"), three = Path.Combine(_tmp, "three.npy"), outFile = Path.Combine(_tmp, "out.jsonl");
        File.WriteAllText(replay, csv.ToString());
        NpyFile.Write(three, NpyArray.FromFloat32(x[..(3 * 384)], 3, 6, 64));
        var (code, o, err) = CliRunner.Ema("loop", ema, "--source", "replay:" + replay, "--window", "64", "--hop", "64", "--rate", "0", "--out", outFile);
        Assert.True(code == 0, err);
        Assert.Contains("3 inferences on 192 samples", o);
        var lines = Lines(File.ReadAllText(outFile));
        Assert.Equal(4, lines.Count); // three records, then the summary
        Assert.True(lines[3].GetProperty("summary").GetBoolean());
        Assert.Equal("end_of_stream", lines[3].GetProperty("stopped_by").GetString());
        Assert.Equal([63L, 127L, 191L], lines.Take(3).Select(l => l.GetProperty("sample").GetInt64()));

        // The same windows through `ema run` (adaptive, the same session options): the same classes.
        string run = Path.Combine(_tmp, "run.npy");
        (code, _, err) = CliRunner.Ema("run", ema, "--input", three, "--output", run);
        Assert.True(code == 0, err);
        var y = NpyFile.Read(run).ToFloat32();
        int classes = y.Length / 3;
        for (int w = 0; w < 3; w++)
        {
            int best = 0;
            for (int c = 1; c < classes; c++) if (y[w * classes + c] > y[w * classes + best]) best = c;
            Assert.Equal(best, lines[w].GetProperty("class").GetInt32());
            Assert.InRange(lines[w].GetProperty("score").GetDouble(), 1.0 / classes, 1.0);
            Assert.InRange(lines[w].GetProperty("recompute").GetDouble(), 0, 1);
        }
    }

    [Fact]
    public void ASimulatedSensorOnAFlakyBusKeepsTheLoopGoingAndCountsTheFaults()
    {
        string ema = ImuModel();
        var (code, o, err) = CliRunner.Ema("loop", ema, "--source", "sim:mpu6050?nack-every=9", "--hop", "16", "--rate", "0", "--max-inferences", "12");
        Assert.True(code == 0, err);
        var lines = Lines(o);
        Assert.Equal(13, lines.Count);
        var summary = lines[^1];
        Assert.Equal(12, summary.GetProperty("inferences").GetInt64());
        long faults = summary.GetProperty("faults").GetInt64();
        Assert.True(faults > 5, $"{faults} faults");
        Assert.Equal(faults, summary.GetProperty("faults_recovered").GetInt64());
        Assert.Equal(0, summary.GetProperty("stalls").GetInt64());
        // Inferences every 16 samples once the 64-sample window is full.
        Assert.Equal(Enumerable.Range(0, 12).Select(i => 63L + 16 * i), lines.Take(12).Select(l => l.GetProperty("sample").GetInt64()));
    }

    [Theory]
    [InlineData("--source", "usb:mpu6050")]
    [InlineData("--source", "sim:mpu9250")]
    [InlineData("--window", "63")]
    [InlineData("--rate", "-1")]
    public void BadLoopArgumentsExitWithCodeTwo(string option, string value)
    {
        string ema = ImuModel();
        var args = new List<string> { "loop", ema, "--max-inferences", "1", "--rate", "0" };
        if (option != "--source") args.AddRange(["--source", "sim:mpu6050"]);
        if (option == "--rate") args.RemoveRange(4, 2);
        args.AddRange([option, value]);
        var (code, _, err) = CliRunner.Ema([.. args]);
        Assert.Equal(2, code);
        Assert.Contains("error:", err);
    }
}
