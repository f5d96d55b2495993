using EdgeMixedAccum.Runtime.Loop;

namespace EdgeMixedAccum.Runtime.Tests.Loop;

public class I2cMpu6050SourceTests
{
    private static (I2cMpu6050Source Source, SimulatedMpu6050 Sim, ManualLoopClock Clock) Make(I2cRetryPolicy? policy = null)
    {
        var sim = new SimulatedMpu6050();
        var clock = new ManualLoopClock();
        return (new I2cMpu6050Source(new Mpu6050(sim), clock, policy), sim, clock);
    }

    [Fact]
    public void Nack_burst_within_retries_is_recovered_and_counted()
    {
        var (src, sim, clock) = Make();
        var s = new float[6];
        Assert.Equal(SampleStatus.Ok, src.Read(s, out _));
        sim.InjectNack(3);
        long before = clock.Now;
        Assert.Equal(SampleStatus.Ok, src.Read(s, out _));
        Assert.Equal(new SourceHealth(3, 1, 0), src.Health);
        // Backoff doubles: 0.5 + 1 + 2 ms on the fake clock.
        Assert.Equal(3500, clock.Now - before);
    }

    [Fact]
    public void Short_read_and_timeout_are_recovered()
    {
        var (src, sim, _) = Make();
        var s = new float[6];
        sim.InjectShortRead(1);
        Assert.Equal(SampleStatus.Ok, src.Read(s, out _));
        sim.InjectTimeout(2, TimeSpan.FromMilliseconds(1));
        Assert.Equal(SampleStatus.Ok, src.Read(s, out _));
        Assert.Equal(new SourceHealth(3, 2, 0), src.Health);
        Assert.Equal(9.80665f, s[2], 4); // the default signal's z axis: the retried read is a full sample
    }

    [Fact]
    public void Init_survives_bus_faults()
    {
        var sim = new SimulatedMpu6050();
        sim.InjectNack(2);
        using var src = new I2cMpu6050Source(new Mpu6050(sim), new ManualLoopClock());
        Assert.True(src.Device.IsInitialized);
        Assert.Equal(2, src.Health.Faults);
    }

    [Fact]
    public void Persistent_failure_reports_a_stall_then_recovers()
    {
        var (src, sim, _) = Make(new I2cRetryPolicy(MaxRetries: 2));
        var s = new float[6];
        sim.InjectNack(7); // 3 attempts per read: two stalled reads, then one that recovers after one fault
        Assert.Equal(SampleStatus.Stalled, src.Read(s, out _));
        Assert.Equal(SampleStatus.Stalled, src.Read(s, out _));
        Assert.Equal(SampleStatus.Ok, src.Read(s, out _));
        Assert.Equal(new SourceHealth(7, 1, 1), src.Health);
    }

    [Fact]
    public void Frozen_data_registers_report_a_stall()
    {
        var (src, sim, _) = Make(new I2cRetryPolicy(StallAfterIdenticalReads: 5));
        var s = new float[6];
        Assert.Equal(SampleStatus.Ok, src.Read(s, out _));
        sim.Stalled = true;
        var statuses = new List<SampleStatus>();
        for (int i = 0; i < 8; i++) statuses.Add(src.Read(s, out _));
        Assert.Equal(4, statuses.Count(x => x == SampleStatus.Ok));
        Assert.Equal(4, statuses.Count(x => x == SampleStatus.Stalled));
        Assert.Equal(SampleStatus.Stalled, statuses[^1]);
        Assert.Equal(1, src.Health.Stalls);
        sim.Stalled = false;
        Assert.Equal(SampleStatus.Ok, src.Read(s, out _));
    }
}
