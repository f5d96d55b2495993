using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Runtime.Engine;
using EdgeMixedAccum.Runtime.Loop;

namespace EdgeMixedAccum.Cli;

/// <summary>
/// `ema loop MODEL.ema --source SRC --window N --hop H --rate HZ [--out FILE.jsonl]`: reads a sensor at a fixed rate,
/// keeps the last N samples per channel, runs the model every H samples and writes one JSON line per inference; I2C
/// faults are retried and counted, SIGINT/SIGTERM stop it cleanly with a summary (boards/README.md).
/// </summary>
internal static class LoopCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Argument<FileInfo>("model") { Description = "the .ema model (input [channels, window])" };
        var source = new Option<string>("--source", "-s") { Description = SourceSpec.Usage, Required = true };
        var window = new Option<int?>("--window") { Description = "samples per channel in each inference (default: the model's last input dim)" };
        var hop = new Option<int?>("--hop") { Description = "samples between inferences (default: the window)" };
        var rate = new Option<double>("--rate") { Description = "sampling rate in Hz; 0 reads as fast as the source gives", DefaultValueFactory = _ => 100 };
        var output = new Option<FileInfo?>("--out", "-o") { Description = "append the JSON lines to this file (default: standard output)" };
        var max = new Option<long?>("--max-inferences") { Description = "stop after this many inferences" };
        var cmd = new Command("loop", "Run a model on a sensor stream: i2c (MPU6050), a simulated device, a replay CSV or stdin");
        cmd.Arguments.Add(model);
        foreach (var o in new Option[] { source, window, hop, rate, output, max }) cmd.Options.Add(o);
        var engine = EngineOptions.Create(cmd);
        cmd.SetAction(p =>
        {
            SourceSpec spec;
            try { spec = SourceSpec.Parse(p.GetValue(source)!); }
            catch (FormatException e) { throw new EmaException(e.Message); }
            var m = CliApp.LoadModel(p.GetValue(model)!);
            return Execute(m, spec, p.GetValue(window), p.GetValue(hop), p.GetValue(rate), p.GetValue(output), p.GetValue(max), engine.Read(p), stdout);
        });
        return cmd;
    }

    public static int Execute(EmaModel m, SourceSpec spec, int? windowOpt, int? hopOpt, double rate, FileInfo? outFile, long? maxInferences,
        SessionOptions options, TextWriter stdout)
    {
        if (!(rate >= 0) || double.IsInfinity(rate)) throw new EmaException($"--rate {rate}: must be a number of Hz >= 0");
        if (maxInferences is < 1) throw new EmaException($"--max-inferences {maxInferences}: must be >= 1");
        using var session = new Session(m, options);
        var inShape = m.Graph.Values[m.Graph.Inputs[0]].Shape;
        int window = windowOpt ?? (inShape.Length > 0 ? inShape[^1] : 0);
        int hop = hopOpt ?? window;
        if (window < 1 || hop < 1) throw new EmaException($"--window {window} and --hop {hop} must be >= 1");

        ISampleSource src;
        try { src = spec.Open(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException)
        { throw new EmaException($"source '{spec.Kind}': {e.Message}"); }
        using var _ = src;
        if ((long)src.Channels * window != session.InputLength)
            throw new EmaException($"the source gives {src.Channels} channels; {src.Channels} x window {window} = {src.Channels * window} values, " +
                $"but the model's input {Shapes.Format(inShape)} takes {session.InputLength} per sample (set --window, or use a model for {src.Channels} channels)");

        foreach (var w in session.Warnings) Console.Error.WriteLine($"warning: {w}");
        using var cts = new CancellationTokenSource();
        // SIGINT / SIGTERM (systemd's stop) end the loop after the current tick; the summary is still written.
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; cts.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cts.Cancel(); });

        TextWriter writer = outFile is null ? stdout : new StreamWriter(outFile.FullName, append: true) { AutoFlush = true };
        try
        {
            var json = new LoopJsonWriter(writer);
            var infer = new SessionInference(session);
            var runner = new LoopRunner(src, window, hop, rate, infer);
            long count = 0;
            var summary = runner.Run(r =>
            {
                json.Write(r);
                if (maxInferences is { } k && ++count >= k) cts.Cancel();
            }, cts.Token);
            json.Write(summary);
            if (outFile is not null)
            {
                var inv = CultureInfo.InvariantCulture;
                stdout.WriteLine($"loop stopped ({(summary.StoppedBy == LoopStopReason.Cancelled ? "stopped" : "end of stream")}): {summary.Inferences} inferences on " +
                    $"{summary.Samples} samples in {summary.ElapsedSeconds.ToString("F1", inv)} s; latency p50/p95/p99 " +
                    $"{summary.LatencyP50Microseconds.ToString("F0", inv)}/{summary.LatencyP95Microseconds.ToString("F0", inv)}/{summary.LatencyP99Microseconds.ToString("F0", inv)} us; " +
                    $"{summary.DeadlineMisses} deadline misses; {summary.FaultsRecovered} of {summary.Faults} faults recovered; {summary.Stalls} stalls");
            }
        }
        finally
        {
            if (outFile is not null) writer.Dispose();
        }
        return 0;
    }
}
