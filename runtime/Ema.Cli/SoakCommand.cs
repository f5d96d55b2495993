using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Runtime.Engine;
using EdgeMixedAccum.Runtime.Loop;

namespace EdgeMixedAccum.Cli;

/// <summary>
/// `ema soak MODEL.ema [--n N] [--part session|loop|both] [--input X.npy] [--mode ..]`: issue 8's soak. Runs N
/// inferences through Session.Run (cycling through a few distinct inputs) and N through the sensor loop on the simulated
/// MPU6050 (a signal periodic in the sample index, so windows recur), and checks that steady state allocates nothing on
/// the inference thread, that memory stays flat, and that every recurring input gives bit-identical outputs. Prints one
/// line per part (and --json: one object per part); exit code 1 when a check fails (docs/reliability.md).
/// </summary>
internal static class SoakCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Argument<FileInfo>("model") { Description = "the .ema model" };
        var n = new Option<long>("--n") { Description = "inferences per part", DefaultValueFactory = _ => 1_000_000 };
        var part = new Option<string>("--part") { Description = "session | loop | both", DefaultValueFactory = _ => "both" };
        var input = new Option<FileInfo?>("--input", "-i") { Description = "real inputs (.npy) for the session part: its rows are cycled (default: 16 seeded random rows)" };
        var json = new Option<bool>("--json") { Description = "one JSON object per part" };
        var cmd = new Command("soak", "Run N inferences through Session.Run and the simulated sensor loop: zero steady-state allocation, flat memory, identical outputs");
        cmd.Arguments.Add(model);
        foreach (var o in new Option[] { n, part, input, json }) cmd.Options.Add(o);
        var engine = EngineOptions.Create(cmd);
        cmd.SetAction(p =>
        {
            var m = CliApp.LoadModel(p.GetValue(model)!);
            long count = p.GetValue(n);
            if (count < 1) throw new EmaException($"--n {count}: must be >= 1");
            string which = p.GetValue(part)!;
            if (which is not ("session" or "loop" or "both")) throw new EmaException($"--part '{which}': session, loop or both");
            var options = engine.Read(p);
            float[]? rows = p.GetValue(input) is { } f ? Dataset.Load(m, f, null, null).X : null;
            var results = new List<Soak.Result>();
            if (which != "loop") results.Add(Soak.RunSession(m, options, rows, count));
            if (which != "session") results.Add(Soak.RunLoop(m, options, count));
            foreach (var r in results) stdout.WriteLine(p.GetValue(json) ? r.ToJson() : r.ToString());
            return results.All(r => r.Passed) ? 0 : 1;
        });
        return cmd;
    }
}

/// <summary>The soak itself (also run, shorter, by the test suite: tests/Ema.Cli.Tests/SoakTests.cs).</summary>
public static class Soak
{
    /// <summary>Growth of live managed memory (after a full collection) from the start of steady state to its end that
    /// still counts as flat: the runtime's own bookkeeping moves by kilobytes, a leak of one object per inference would
    /// pass it after some thousand inferences.</summary>
    public const long FlatManagedBytes = 256 * 1024;
    /// <summary>Working-set growth that still counts as flat (JIT tiering and the GC's own heaps move by a few MiB).</summary>
    public const long FlatWorkingSetBytes = 32L << 20;

    /// <param name="SteadyAllocatedBytes">bytes allocated on the inference thread by the inferences after warm-up (must be 0).</param>
    /// <param name="Mismatches">inferences whose output differed in any bit from the first output for the same input.</param>
    public sealed record Result(string Part, long Inferences, double Seconds, long SteadyAllocatedBytes, long Mismatches,
        int DistinctInputs, long ManagedStart, long ManagedEnd, long ManagedMax, long WorkingSetStart, long WorkingSetEnd, long WorkingSetMax)
    {
        public double Rate => Inferences / Math.Max(Seconds, 1e-9);
        public bool Passed => SteadyAllocatedBytes == 0 && Mismatches == 0 && ManagedEnd - ManagedStart <= FlatManagedBytes
            && WorkingSetEnd - WorkingSetStart <= FlatWorkingSetBytes;

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"soak {Part}: {Inferences} inferences in {Seconds:F1} s ({Rate:F0}/s), {DistinctInputs} distinct inputs, {Mismatches} mismatches, " +
            $"{SteadyAllocatedBytes} bytes allocated in steady state, managed {Mb(ManagedStart)} -> {Mb(ManagedEnd)} MiB (max {Mb(ManagedMax)}), " +
            $"working set {Mb(WorkingSetStart)} -> {Mb(WorkingSetEnd)} MiB (max {Mb(WorkingSetMax)}): {(Passed ? "PASS" : "FAIL")}");

        public string ToJson() => string.Create(CultureInfo.InvariantCulture,
            $"{{\"part\":\"{Part}\",\"inferences\":{Inferences},\"seconds\":{Seconds:F3},\"rate_per_s\":{Rate:F1},\"distinct_inputs\":{DistinctInputs}," +
            $"\"mismatches\":{Mismatches},\"steady_allocated_bytes\":{SteadyAllocatedBytes},\"managed_start\":{ManagedStart},\"managed_end\":{ManagedEnd}," +
            $"\"managed_max\":{ManagedMax},\"working_set_start\":{WorkingSetStart},\"working_set_end\":{WorkingSetEnd},\"working_set_max\":{WorkingSetMax},\"passed\":{(Passed ? "true" : "false")}}}");

        private static string Mb(long b) => (b / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);
    }

    /// <summary>Samples of memory taken during a run (outside the measured inference stretches).</summary>
    private sealed class Meter
    {
        public long ManagedStart, ManagedMax, WsStart, WsMax, Allocated;
        private long _mark;
        public void Start()
        {
            ManagedStart = ManagedMax = GC.GetTotalMemory(forceFullCollection: true);
            WsStart = WsMax = Environment.WorkingSet;
            _mark = GC.GetAllocatedBytesForCurrentThread();
        }
        /// <summary>Ends a measured stretch, samples memory (which may allocate: not counted), starts the next stretch.</summary>
        public void Sample()
        {
            Allocated += GC.GetAllocatedBytesForCurrentThread() - _mark;
            ManagedMax = Math.Max(ManagedMax, GC.GetTotalMemory(false));
            WsMax = Math.Max(WsMax, Environment.WorkingSet);
            _mark = GC.GetAllocatedBytesForCurrentThread();
        }
        public Result Finish(string part, long n, double seconds, long mismatches, int distinct)
        {
            Sample();
            long managedEnd = GC.GetTotalMemory(forceFullCollection: true);
            long wsEnd = Environment.WorkingSet;
            return new Result(part, n, seconds, Allocated, mismatches, distinct, ManagedStart, managedEnd, Math.Max(ManagedMax, managedEnd),
                WsStart, wsEnd, Math.Max(WsMax, wsEnd));
        }
    }

    private const int Samples = 200; // memory samples per run

    /// <param name="rows">distinct inputs laid out back to back (whole samples; at most 64 are used), or null for 16
    /// seeded random rows in [-1, 1].</param>
    // AggressiveOptimization: compiled optimised at the first call, so no tier-0 code or on-stack replacement runs
    // inside the measured loop.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static Result RunSession(EmaModel model, SessionOptions options, float[]? rows, long n)
    {
        using var s = new Session(model, options with { MaxBatch = 1, Threads = 1 });
        int inLen = s.InputLength, outLen = s.OutputLength;
        int distinct = rows is null ? 16 : Math.Min(64, rows.Length / inLen);
        if (distinct < 1) throw new EmaException($"the inputs hold less than one sample of {inLen} floats");
        var x = new float[distinct * inLen];
        if (rows is null) { var rng = new Random(8); for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1); }
        else rows.AsSpan(0, x.Length).CopyTo(x);
        // Reference outputs: the first run of each input; then a warm-up so JIT tiering is done before measuring.
        var expected = new float[distinct * outLen];
        for (int r = 0; r < distinct; r++) s.Run(x.AsSpan(r * inLen, inLen), expected.AsSpan(r * outLen, outLen));
        var y = new float[outLen];
        for (int i = 0; i < 2000; i++) s.Run(x.AsSpan(i % distinct * inLen, inLen), y);

        var meter = new Meter();
        long mismatches = 0, every = Math.Max(1, n / Samples);
        var sw = new Stopwatch(); // created before the measured stretch: it is an object too
        meter.Start();
        sw.Start();
        for (long i = 0; i < n; i++)
        {
            int r = (int)(i % distinct);
            s.Run(x.AsSpan(r * inLen, inLen), y);
            // Bits, not values: NaN == NaN and -0 != +0 here.
            if (!MemoryMarshal.AsBytes(y.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(expected.AsSpan(r * outLen, outLen)))) mismatches++;
            if ((i + 1) % every == 0) meter.Sample();
        }
        double seconds = sw.Elapsed.TotalSeconds;
        return meter.Finish("session", n, seconds, mismatches, distinct);
    }

    /// <summary>Period of the simulated signal in samples: windows ending at the same index modulo this see the same data.</summary>
    public const int SignalPeriod = 100;

    /// <summary>The simulated MPU6050's registers as a pure function of the sample index modulo <see cref="SignalPeriod"/>
    /// (the default signal's sin of a growing argument can differ in its last bit between periods).</summary>
    public static void PeriodicSignal(long n, Span<short> raw)
    {
        int k = (int)(n % SignalPeriod);
        double phase = 2 * Math.PI * k / SignalPeriod;
        raw[0] = (short)(4000 * Math.Sin(phase));
        raw[1] = (short)(2000 * Math.Cos(2 * phase));
        raw[2] = 16384;
        raw[3] = -2220;
        raw[4] = (short)(1000 * Math.Cos(phase));
        raw[5] = (short)(-500 * Math.Sin(3 * phase));
        raw[6] = (short)(k * 37 % 200 - 100);
    }

    /// <summary>The sensor loop (simulated I2C MPU6050, ring buffer, schedule on a manual clock, <see cref="SessionInference"/>)
    /// for <paramref name="n"/> inferences. The model's input must be [6 channels, window] for one sample; hop 4.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static Result RunLoop(EmaModel model, SessionOptions options, long n, int hop = 4)
    {
        using var s = new Session(model, options with { MaxBatch = 1, Threads = 1 });
        const int channels = 6;
        if (s.InputLength % channels != 0) throw new EmaException($"the loop soak needs a model whose input is {channels} channels x a window; this one takes {s.InputLength} floats");
        int window = s.InputLength / channels;
        var clock = new ManualLoopClock();
        using var src = new I2cMpu6050Source(new Mpu6050(new SimulatedMpu6050(signal: PeriodicSignal)), clock);
        var runner = new LoopRunner(src, window, hop, 100, new SessionInference(s), clock);
        // One reference outcome per phase of the window's last sample: the same phase means the same window.
        var first = new InferenceOutcome[SignalPeriod];
        var seen = new bool[SignalPeriod];
        long mismatches = 0, inferences = 0;
        Action<LoopRecord> onRecord = r =>
        {
            inferences++;
            int ph = (int)(r.SampleIndex % SignalPeriod);
            var o = new InferenceOutcome(r.ClassIndex, r.Score, r.RecomputeFraction, r.MaxErrorBound);
            if (!seen[ph]) { seen[ph] = true; first[ph] = o; }
            else if (!Same(o, first[ph])) mismatches++;
        };
        while (inferences < 2000) runner.Tick(onRecord); // warm-up: every phase seen, JIT tiering done
        long start = inferences, target = start + n, every = Math.Max(1, n / Samples), next = start + every;
        int distinct = seen.Count(v => v); // counted here: LINQ allocates, and the warm-up has seen every phase
        var meter = new Meter();
        var sw = new Stopwatch();
        meter.Start();
        sw.Start();
        while (inferences < target)
        {
            runner.Tick(onRecord);
            if (inferences >= next) { meter.Sample(); next += every; }
        }
        double seconds = sw.Elapsed.TotalSeconds;
        return meter.Finish("loop", inferences - start, seconds, mismatches, distinct);
    }

    private static bool Same(InferenceOutcome a, InferenceOutcome b) =>
        a.ClassIndex == b.ClassIndex && BitConverter.SingleToInt32Bits(a.Score) == BitConverter.SingleToInt32Bits(b.Score)
        && BitConverter.DoubleToInt64Bits(a.RecomputeFraction) == BitConverter.DoubleToInt64Bits(b.RecomputeFraction)
        && BitConverter.DoubleToInt64Bits(a.MaxErrorBound) == BitConverter.DoubleToInt64Bits(b.MaxErrorBound);
}
