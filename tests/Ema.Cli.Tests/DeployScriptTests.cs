using System.Diagnostics;
using EdgeMixedAccum.Tests;

namespace EdgeMixedAccum.Cli.Tests;

/// <summary>boards/deploy.sh in its dry-run mode: the commands it would run and the unit it would install.</summary>
public class DeployScriptTests
{
    private static (int Code, string Out, string Err) Deploy(params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = TestPaths.Root };
        psi.ArgumentList.Add(Path.Combine(TestPaths.Root, "boards", "deploy.sh"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(60_000), "deploy.sh --dry-run hung");
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    [Theory]
    [InlineData("rpi4")]
    [InlineData("rpi5")]
    [InlineData("jetson-nano")]
    [InlineData("jetson-orin")]
    public void DryRunPublishesWithTheBoardsProfileCopiesAndStartsTheUnit(string board)
    {
        var (code, o, err) = Deploy("--dry-run", board, "pi@board.local", "models/gesture.ema",
            "--source", "i2c:mpu6050?bus=1&addr=0x68", "--window", "64", "--hop", "16", "--rate", "100", "--out", "/var/lib/ema/out 1.jsonl");
        Assert.True(code == 0, err);
        var lines = o.Split('\n');
        Assert.Contains($"+ dotnet publish runtime/Ema.Cli -c Release -p:PublishProfile={board}", lines);
        Assert.Contains($"+ scp artifacts/publish/{board}/ema models/gesture.ema pi@board.local:/home/pi/ema/", lines);
        // The unit: restart on failure, a clean SIGINT stop, and every loop argument quoted for systemd (no shell there).
        Assert.Contains("Restart=on-failure", lines);
        Assert.Contains("KillSignal=SIGINT", lines);
        Assert.Contains("ExecStart=/home/pi/ema/ema loop /home/pi/ema/gesture.ema \"--source\" \"i2c:mpu6050?bus=1&addr=0x68\" \"--window\" \"64\" " +
            "\"--hop\" \"16\" \"--rate\" \"100\" \"--out\" \"/var/lib/ema/out 1.jsonl\"", lines);
        Assert.Contains(lines, l => l.StartsWith("+ ssh pi@board.local sudo mv /tmp/ema-loop.service /etc/systemd/system/ema-loop.service", StringComparison.Ordinal)
            && l.Contains("systemctl enable --now ema-loop.service", StringComparison.Ordinal));
        // The profile named in the script's publish step exists.
        Assert.True(File.Exists(Path.Combine(TestPaths.Root, "publish-profiles", board + ".pubxml")));
    }

    [Theory]
    [InlineData("rpi9", "pi@x", "m.ema", "unknown board")]
    [InlineData("rpi5", "nohost", "m.ema", "USER@HOST")]
    [InlineData("rpi5", "pi@x", "my model.ema", "white space")]
    public void BadArgumentsExitWithCodeTwoAndSayWhy(string board, string host, string model, string why)
    {
        var (code, _, err) = Deploy("--dry-run", board, host, model, "--rate", "1");
        Assert.Equal(2, code);
        Assert.Contains(why, err);
        Assert.Equal(2, Deploy("--dry-run", "rpi5").Code); // usage
    }
}
