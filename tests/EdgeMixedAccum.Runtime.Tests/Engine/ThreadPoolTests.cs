using System.Diagnostics;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Runtime.Engine;
using EdgeMixedAccum.Tests;

namespace EdgeMixedAccum.Runtime.Tests.Engine;

/// <summary>The allocation test reads the process-wide allocation counter: run this class alone.</summary>
[CollectionDefinition(nameof(ThreadPoolCollection), DisableParallelization = true)]
public sealed class ThreadPoolCollection;

/// <summary>
/// SessionOptions.Threads: a batch split over persistent worker lanes gives the one-thread outputs bit for bit
/// and the same report, allocates nothing per run, survives an exception on a worker and stops its threads on Dispose.
/// </summary>
[Collection(nameof(ThreadPoolCollection))]
public class ThreadPoolTests
{
    private static readonly RunMode[] Modes = [RunMode.F32, RunMode.I8, RunMode.F16Acc, RunMode.Adaptive];
    private static readonly int[] Batches = [1, 2, 5, 64];

    public static TheoryData<string> Models => new() { "fmnist-mlp-tanh", "mlp-f16-from-i8", "cnn-i8", "cnn-f16", "conv1d-i8", "two-outputs" };

    private static EmaModel Load(string name) => name switch
    {
        "fmnist-mlp-tanh" => EmaReader.Read(File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "fmnist-mlp-tanh.ema")), "fmnist-mlp-tanh.ema"),
        "two-outputs" => TwoOutputs(),
        _ => SessionTests.Build(name),
    };

    /// <summary>Dense -> tanh, exposed as an output, -> Dense: two graph outputs, so Output(1) is checked too.</summary>
    private static EmaModel TwoOutputs()
    {
        var r = new Random(31);
        var b = new GraphBuilder();
        var plan = new LayerPlan(Precision.I8, 0.01f, EstimatorKind.RowNorm, 0, 1f, 0);
        int x = b.Input("x", Shapes.Batch, 19);
        int h = b.Dense(x, SessionTests.Weights(r, TensorDType.Int8, 23, 19), SessionTests.Bias(r, 23), Activation.Tanh, plan, "h");
        int y = b.Dense(h, SessionTests.Weights(r, TensorDType.Float32, 4, 23), SessionTests.Bias(r, 4), Activation.Identity, plan, "y");
        b.Output(y);
        b.Output(h);
        return new EmaModel(new ModelMetadata { ModelName = "two-outputs" }, b.Graph);
    }

    /// <summary>Many short runs back to back, so a worker often wakes late from the previous call's signal while the
    /// caller already posts the next chunks (the caller claims a chunk its worker has not started). A countdown armed
    /// after posting once let such a worker signal the spent countdown (the test host crashed) or lose its signal
    /// (the caller hung); every run must still finish with the one-thread outputs.</summary>
    [Fact]
    public void BackToBackShortRunsNeverLoseOrDoubleASignal()
    {
        var m = TwoOutputs();
        // More lanes than cores, so workers are often preempted between waking and claiming.
        using var one = new Session(m, new SessionOptions { Mode = RunMode.I8, MaxBatch = 8 });
        using var many = new Session(m, new SessionOptions { Mode = RunMode.I8, MaxBatch = 8, Threads = 8 });
        var x = SessionTests.Inputs(7, 8 * one.InputLength, 3);
        var y1 = new float[8 * one.OutputLength];
        var yt = new float[8 * one.OutputLength];
        one.Run(x, y1, 8);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < 20_000 && sw.Elapsed.TotalSeconds < 20; i++)
        {
            int b = 2 + i % 7;
            many.Run(x.AsSpan(0, b * one.InputLength), yt, b);
            if (b == 8) Assert.Equal(y1, yt);
        }
    }

    [Theory, MemberData(nameof(Models))]
    public void OutputsAndReportsAreBitIdenticalToOneThread(string name)
    {
        var m = Load(name);
        foreach (var mode in Modes)
        {
            using var one = new Session(m, new SessionOptions { Mode = mode, MaxBatch = 64 });
            foreach (int threads in new[] { 2, 3 })
            {
                using var many = new Session(m, new SessionOptions { Mode = mode, MaxBatch = 64, Threads = threads });
                foreach (int batch in Batches)
                {
                    // Scaled inputs so adaptive mode flags some components (fixture: raw pixels in [0, 1]).
                    var x = SessionTests.Inputs(100 + batch, batch * one.InputLength, name == "fmnist-mlp-tanh" ? 0.5 : 3);
                    if (name == "fmnist-mlp-tanh") for (int i = 0; i < x.Length; i++) x[i] += 0.5f;
                    var y1 = new float[batch * one.OutputLength];
                    var yT = new float[batch * one.OutputLength];
                    one.Run(x, y1, batch);
                    many.Run(x, yT, batch);
                    string what = $"{name} {mode} T={threads} B={batch}";
                    Assert.True(Bits(y1).SequenceEqual(Bits(yT)), $"{what}: outputs differ");
                    for (int o = 0; o < m.Graph.Outputs.Count; o++)
                        Assert.True(Bits(one.Output(o)).SequenceEqual(Bits(many.Output(o))), $"{what}: Output({o}) differs");
                    AssertSameReport(one.LastReport, many.LastReport, what);
                }
            }
        }
    }

    private static int[] Bits(ReadOnlySpan<float> v)
    {
        var b = new int[v.Length];
        for (int i = 0; i < v.Length; i++) b[i] = BitConverter.SingleToInt32Bits(v[i]);
        return b;
    }

    private static void AssertSameReport(RunReport a, RunReport b, string what)
    {
        Assert.Equal(a.Batch, b.Batch);
        Assert.Equal(a.Layers.Count, b.Layers.Count);
        for (int l = 0; l < a.Layers.Count; l++)
        {
            var (x, y) = (a.Layers[l], b.Layers[l]);
            Assert.True(x.Components == y.Components && x.Flagged == y.Flagged && x.NonFinite == y.NonFinite,
                $"{what} layer {x.Name}: {x.Components}/{x.Flagged}/{x.NonFinite} vs {y.Components}/{y.Flagged}/{y.NonFinite}");
            Assert.Equal(x.MaxPredictedRelError, y.MaxPredictedRelError);
        }
        Assert.Equal(a.RecomputeFraction, b.RecomputeFraction);
    }

    [Fact]
    public void AdaptiveModeFlagsSomethingOnTheTestInputs()
    {
        // Guards the identity test above against a vacuous adaptive case.
        var m = Load("fmnist-mlp-tanh");
        using var s = new Session(m, new SessionOptions { Mode = RunMode.Adaptive, MaxBatch = 64, Threads = 2 });
        var x = SessionTests.Inputs(164, 64 * s.InputLength, 0.5);
        for (int i = 0; i < x.Length; i++) x[i] += 0.5f;
        s.Run(x, new float[64 * s.OutputLength], 64);
        Assert.True(s.LastReport.F32Components > 0);
        Assert.Equal(64, s.LastReport.Batch);
    }

    [Fact]
    public void SteadyStateRunsAllocateNothingOnAnyThread()
    {
        var m = Load("fmnist-mlp-tanh");
        using var s = new Session(m, new SessionOptions { Mode = RunMode.Adaptive, MaxBatch = 64, Threads = 2 });
        var x = SessionTests.Inputs(7, 64 * s.InputLength, 0.5);
        var y = new float[64 * s.OutputLength];
        for (int k = 0; k < 50; k++) { s.Run(x, y, 64); s.Run(x.AsSpan(0, 5 * s.InputLength), y, 5); s.Run(x.AsSpan(0, s.InputLength), y, 1); }

        var (caller, _) = SteadyStateAllocation.Least(() => { for (int k = 0; k < 200; k++) s.Run(x, y, 64); });
        Assert.Equal(0, caller);

        // The workers: only the process-wide counter sees them, and the test host allocates a little in the background
        // (about 2 KB/s here), in proportion to time. So many fast runs (a small model, every run using both workers).
        var small = SessionTests.Build("mlp-f16-from-i8");
        using var t = new Session(small, new SessionOptions { Mode = RunMode.Adaptive, MaxBatch = 3, Threads = 3 });
        var xs = SessionTests.Inputs(8, 3 * t.InputLength, 2);
        var ys = new float[3 * t.OutputLength];
        for (int k = 0; k < 2000; k++) t.Run(xs, ys, 3);
        const int Runs = 20_000;
        long best = long.MaxValue;
        var sw = new Stopwatch();
        for (int attempt = 0; attempt < 3 && best >= Runs; attempt++)
        {
            sw.Restart();
            long before = GC.GetTotalAllocatedBytes(true);
            for (int k = 0; k < Runs; k++) t.Run(xs, ys, 3);
            best = Math.Min(best, GC.GetTotalAllocatedBytes(true) - before);
        }
        // One byte per run, plus twice the host's background rate: a single object every 24 runs would exceed it.
        Assert.True(best < Runs + 4096 * sw.Elapsed.TotalSeconds, $"{best} bytes allocated by the process over {Runs} runs ({sw.Elapsed.TotalSeconds:F2} s)");
        Assert.Equal(3, t.LastReport.Batch);
    }

    [Fact]
    public void AnExceptionOnAWorkerSurfacesOnTheCallerAndThePoolStaysUsable()
    {
        var m = Load("fmnist-mlp-tanh");
        using var one = new Session(m, new SessionOptions { Mode = RunMode.I8, MaxBatch = 8 });
        using var s = new Session(m, new SessionOptions { Mode = RunMode.I8, MaxBatch = 8, Threads = 3 });
        int n = s.InputLength;
        var x = SessionTests.Inputs(3, 8 * n, 0.5);
        var good = (float[])x.Clone();
        var y = new float[8 * s.OutputLength];
        var y1 = new float[8 * s.OutputLength];
        // Chunks of 8 over 3 threads: [0,3) caller, [3,6) worker 1, [6,8) worker 2. A NaN in each place in turn.
        foreach (int sample in new[] { 7, 4, 1 })
        {
            x[sample * n + 5] = float.NaN;
            var expected = Assert.Throws<EmaException>(() => one.Run(x, y1, 8));
            var e = Assert.Throws<EmaException>(() => s.Run(x, y, 8));
            Assert.Equal(expected.Message, e.Message);
            Assert.Contains($"sample {sample}", e.Message);
            x[sample * n + 5] = good[sample * n + 5];

            s.Run(good, y, 8);
            one.Run(good, y1, 8);
            Assert.Equal(y1, y);
        }
        // Two bad chunks: the first one's error, as one thread meets it.
        x[4 * n] = float.PositiveInfinity; x[7 * n + 1] = float.NaN;
        Assert.Equal(Assert.Throws<EmaException>(() => one.Run(x, y1, 8)).Message, Assert.Throws<EmaException>(() => s.Run(x, y, 8)).Message);
        s.Run(good, y, 8);
        Assert.Equal(8, s.LastReport.Batch);
        // The caller's chunk and a worker's both bad: the caller's error; the worker's is dropped, not rethrown later.
        x = (float[])good.Clone();
        x[2 * n] = float.NaN; x[5 * n] = float.NaN;
        Assert.Equal(Assert.Throws<EmaException>(() => one.Run(x, y1, 8)).Message, Assert.Throws<EmaException>(() => s.Run(x, y, 8)).Message);
        s.Run(good, y, 8);
        one.Run(good, y1, 8);
        Assert.Equal(y1, y);
    }

    [Fact]
    public void DisposeStopsTheWorkersAndASecondDisposeDoesNothing()
    {
        var m = Load("cnn-i8");
        var s = new Session(m, new SessionOptions { Mode = RunMode.I8, MaxBatch = 4, Threads = 4 });
        var workers = WorkerThreads(s.WorkerNamePrefix!);
        Assert.True(workers == 3, $"{workers} threads named {s.WorkerNamePrefix}*");
        var x = SessionTests.Inputs(1, 4 * s.InputLength);
        s.Run(x, new float[4 * s.OutputLength], 4);
        s.Dispose();
        s.Dispose();
        Assert.Throws<ObjectDisposedException>(() => s.Run(x, new float[4 * s.OutputLength], 4));
    }

    /// <summary>Threads of this process whose name starts with one session's worker prefix (Linux:
    /// /proc/self/task/*/comm; elsewhere unknown, 3 assumed). Per session, so sessions of tests running in parallel
    /// do not change the count.</summary>
    private static int WorkerThreads(string prefix)
    {
        const string tasks = "/proc/self/task";
        if (!Directory.Exists(tasks)) return 3;
        int n = 0;
        foreach (var d in Directory.GetDirectories(tasks))
            try { if (File.ReadAllText(Path.Combine(d, "comm")).StartsWith(prefix, StringComparison.Ordinal)) n++; } catch (IOException) { }
        return n;
    }

    [Fact]
    public void DisposeJoinsTheWorkerThreads()
    {
        if (!Directory.Exists("/proc/self/task")) return;
        var m = Load("conv1d-i8");
        var s = new Session(m, new SessionOptions { Mode = RunMode.I8, Threads = 5 });
        string prefix = s.WorkerNamePrefix!;
        Assert.Equal(4, WorkerThreads(prefix));
        s.Dispose(); // joined: the managed threads have ended; the OS may take a moment to remove their task entries
        var sw = Stopwatch.StartNew();
        while (WorkerThreads(prefix) != 0 && sw.Elapsed.TotalSeconds < 5) Thread.Sleep(10);
        Assert.Equal(0, WorkerThreads(prefix));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(65)]
    public void ThreadsOutOfRangeAreRejected(int threads)
    {
        var e = Assert.Throws<EmaException>(() => new Session(Load("mlp-f16-from-i8"), new SessionOptions { Threads = threads }));
        Assert.Contains("threads must be 1 to 64", e.Message);
    }

    [Fact]
    public void TraceNeedsOneThread()
    {
        var e = Assert.Throws<EmaException>(() => new Session(Load("mlp-f16-from-i8"), new SessionOptions { Threads = 2, Trace = true }));
        Assert.Contains("Trace", e.Message);
    }

    [Fact]
    public void ABatchLargerThanMaxBatchGrowsTheLanesOnceAndStaysIdentical()
    {
        var m = Load("cnn-f16");
        using var one = new Session(m, new SessionOptions { Mode = RunMode.Adaptive });
        using var s = new Session(m, new SessionOptions { Mode = RunMode.Adaptive, Threads = 2 });
        foreach (int batch in new[] { 1, 3, 9, 2 })
        {
            var x = SessionTests.Inputs(batch, batch * s.InputLength, 2);
            var (y1, y2) = (new float[batch * s.OutputLength], new float[batch * s.OutputLength]);
            one.Run(x, y1, batch);
            s.Run(x, y2, batch);
            Assert.True(Bits(y1).SequenceEqual(Bits(y2)), $"batch {batch}");
        }
    }
}
