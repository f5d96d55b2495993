using System.Text;
using System.Text.Json;
using EdgeMixedAccum.Runtime.Loop;
using EdgeMixedAccum.Tests;

namespace EdgeMixedAccum.Runtime.Tests.Loop;

public class LoopRunnerTests
{
    private static readonly InferenceOutcome NoOp = new(1, 0.5f, 0.25, 1e-3);

    private static ReplaySource Replay(int samples, int channels)
    {
        var sb = new StringBuilder("t");
        for (int c = 0; c < channels; c++) sb.Append(",ch").Append(c);
        sb.Append('\n');
        for (int i = 0; i < samples; i++)
        {
            sb.Append(i * 0.01);
            for (int c = 0; c < channels; c++) sb.Append(',').Append(i * 10 + c);
            sb.Append('\n');
        }
        return new ReplaySource(new StringReader(sb.ToString()), "gen.csv");
    }

    [Theory]
    [InlineData(100, 10, 1, 0)]
    [InlineData(100, 10, 5, 0)]
    [InlineData(100, 32, 7, 50)]
    [InlineData(64, 64, 8, 0)]
    [InlineData(63, 64, 8, 0)]
    public void Replay_emits_one_record_per_hop(int samples, int n, int hop, double rate)
    {
        using var src = Replay(samples, 3);
        var records = new List<LoopRecord>();
        var windows = new List<float[]>();
        var runner = new LoopRunner(src, n, hop, rate, new DelegateInference(w => { windows.Add(w.ToArray()); return NoOp; }),
            new ManualLoopClock());
        var summary = runner.Run(records.Add);
        int expected = samples < n ? 0 : (samples - n) / hop + 1;
        Assert.Equal(expected, records.Count);
        Assert.Equal(expected, summary.Inferences);
        Assert.Equal(samples, summary.Samples);
        Assert.Equal(LoopStopReason.EndOfStream, summary.StoppedBy);
        Assert.Equal(0, summary.DeadlineMisses);
        for (int r = 0; r < records.Count; r++)
        {
            long last = n - 1 + (long)r * hop;
            Assert.Equal(last, records[r].SampleIndex);
            Assert.Equal(last * 0.01, records[r].TimeSeconds, 9);
            Assert.Equal((1, 0.5f, 0.25, 1e-3), (records[r].ClassIndex, records[r].Score, records[r].RecomputeFraction, records[r].MaxErrorBound));
            // [channels, N] oldest first: channel 2 of sample k is k*10+2.
            Assert.Equal((last - n + 1) * 10 + 2, windows[r][2 * n]);
            Assert.Equal(last * 10 + 2, windows[r][3 * n - 1]);
        }
    }

    [Fact]
    public void Schedule_is_drift_free_and_counts_misses()
    {
        var clock = new ManualLoopClock(1_000_000);
        using var src = Replay(20, 1);
        int calls = 0;
        // 100 Hz = 10 000 ticks. Inference on every sample; the 5th (read at 40 000) takes 35 ms: slots 5 and 6
        // get no read, slot 7 is read late at 75 000 and the grid resumes.
        var runner = new LoopRunner(src, 1, 1, 100, new DelegateInference(_ =>
        {
            if (++calls == 5) clock.Advance(35_000);
            else clock.Advance(3_000); // less than a period: lateness never accumulates
            return NoOp;
        }), clock);
        var summary = runner.Run(null);
        Assert.Equal(2, summary.DeadlineMisses);
        Assert.Equal(20, summary.Inferences);
        // Reads at slots 0-4 and 7-21; the end-of-stream read waits for slot 22, still on the grid.
        Assert.Equal(22 * 10_000, clock.Now);
    }

    [Fact]
    public void Faults_are_recovered_and_the_loop_keeps_producing()
    {
        var sim = new SimulatedMpu6050();
        var clock = new ManualLoopClock();
        using var src = new I2cMpu6050Source(new Mpu6050(sim), clock, new I2cRetryPolicy(MaxRetries: 3, StallAfterIdenticalReads: 10));
        var records = new List<LoopRecord>();
        var runner = new LoopRunner(src, 8, 4, 200, new DelegateInference(_ => NoOp), clock);
        for (int i = 0; i < 20; i++) runner.Tick(records.Add);
        sim.InjectNack(2);
        for (int i = 0; i < 4; i++) runner.Tick(records.Add);
        sim.InjectShortRead(1);
        for (int i = 0; i < 4; i++) runner.Tick(records.Add);
        sim.InjectTimeout(3);
        for (int i = 0; i < 4; i++) runner.Tick(records.Add);
        sim.InjectNack(4); // more than the retries: one stalled tick
        for (int i = 0; i < 8; i++) runner.Tick(records.Add);
        sim.Stalled = true;
        for (int i = 0; i < 20; i++) runner.Tick(records.Add);

        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var summary = runner.Run(records.Add, cts.Token);
        Assert.Equal(LoopStopReason.Cancelled, summary.StoppedBy);
        Assert.Equal(10, summary.Faults);
        Assert.Equal(3, summary.FaultsRecovered);
        Assert.Equal(2, summary.Stalls); // the NACK burst, then the frozen device
        Assert.Equal(1 + 11, summary.StalledTicks);
        Assert.Equal(39 + 9, summary.Samples);
        Assert.Equal((summary.Samples - 8) / 4 + 1, records.Count);
        Assert.True(records.Count > 5);
    }

    [Fact]
    public void Steady_state_loop_with_the_engine_allocates_nothing()
    {
        // The whole path ema loop runs: simulated I2C read, ring, schedule, Session.Run in adaptive mode, the report
        // read (recompute share, bound), the JSON line.
        var model = EdgeMixedAccum.Runtime.Tests.Engine.SessionTests.Conv1d(4, EdgeMixedAccum.Graph.Precision.I8, EdgeMixedAccum.Graph.TensorDType.Int8);
        using var session = new EdgeMixedAccum.Runtime.Engine.Session(model);
        var clock = new ManualLoopClock();
        using var src = new I2cMpu6050Source(new Mpu6050(new SimulatedMpu6050()), clock);
        var json = new LoopJsonWriter(new StreamWriter(Stream.Null));
        long records = 0;
        Action<LoopRecord> onRecord = r => { records++; json.Write(r); };
        var runner = new LoopRunner(src, 24, 4, 100, new SessionInference(session), clock);
        for (int i = 0; i < 200; i++) runner.Tick(onRecord);
        // The least of up to three windows: tiered JIT may allocate once while it promotes a method mid-window (this
        // test failed so once in a full parallel run; an allocating path allocates in every window).
        var (allocated, _) = SteadyStateAllocation.Least(() => { for (int i = 0; i < 2000; i++) runner.Tick(onRecord); });
        Assert.Equal(0, allocated);
        Assert.True(records > 500, $"{records} inferences");
        Assert.InRange(session.LastReport.RecomputeFraction, 0, 1);
    }

    [Fact]
    public void Steady_state_tick_allocates_nothing()
    {
        var clock = new ManualLoopClock();
        using var src = new I2cMpu6050Source(new Mpu6050(new SimulatedMpu6050()), clock);
        var json = new LoopJsonWriter(new StreamWriter(Stream.Null));
        long records = 0;
        Action<LoopRecord> onRecord = r => { records++; json.Write(r); };
        var runner = new LoopRunner(src, 32, 4, 100, new DelegateInference(static _ => NoOp), clock);
        for (int i = 0; i < 200; i++) runner.Tick(onRecord); // warm-up: fills the ring, JITs every path
        var (allocated, windows) = SteadyStateAllocation.Least(() => { for (int i = 0; i < 2000; i++) runner.Tick(onRecord); });
        int ticks = 200 + 2000 * windows;
        Assert.Equal(0, allocated);
        Assert.Equal((ticks - 32) / 4 + 1, records);
    }

    [Fact]
    public void Json_lines_are_valid_json()
    {
        var sw = new StringWriter();
        var w = new LoopJsonWriter(sw);
        w.Write(new LoopRecord(1.25, 41, 3, 0.875f, 0.125, 2.5e-7, 123.46));
        w.Write(new LoopSummary(LoopStopReason.Cancelled, 100, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1.5));
        var lines = sw.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        using var rec = JsonDocument.Parse(lines[0]);
        Assert.Equal(1.25, rec.RootElement.GetProperty("t").GetDouble());
        Assert.Equal(41, rec.RootElement.GetProperty("sample").GetInt64());
        Assert.Equal(3, rec.RootElement.GetProperty("class").GetInt32());
        Assert.Equal(0.875, rec.RootElement.GetProperty("score").GetDouble());
        Assert.Equal(2.5e-7, rec.RootElement.GetProperty("max_bound").GetDouble());
        Assert.Equal(123.5, rec.RootElement.GetProperty("latency_us").GetDouble());
        using var sum = JsonDocument.Parse(lines[1]);
        Assert.Equal("cancelled", sum.RootElement.GetProperty("stopped_by").GetString());
        Assert.Equal(4, sum.RootElement.GetProperty("deadline_misses").GetInt64());
    }

    [Fact]
    public void Percentiles_are_nearest_rank()
    {
        double[] sorted = Enumerable.Range(1, 100).Select(i => (double)i).ToArray();
        Assert.Equal(50, LoopRunner.Percentile(sorted, 0.50));
        Assert.Equal(95, LoopRunner.Percentile(sorted, 0.95));
        Assert.Equal(99, LoopRunner.Percentile(sorted, 0.99));
        Assert.Equal(0, LoopRunner.Percentile([], 0.5));
    }
}
