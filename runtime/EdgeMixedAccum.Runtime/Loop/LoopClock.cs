using System.Diagnostics;

namespace EdgeMixedAccum.Runtime.Loop;

/// <summary>Monotonic time for the loop, injectable so tests never sleep.</summary>
public interface ILoopClock
{
    long Now { get; }
    long TicksPerSecond { get; }

    /// <summary>Blocks until <paramref name="deadline"/>; false if cancelled first.</summary>
    bool WaitUntil(long deadline, CancellationToken cancellationToken);
}

public sealed class SystemLoopClock : ILoopClock
{
    public static readonly SystemLoopClock Instance = new();

    public long Now => Stopwatch.GetTimestamp();
    public long TicksPerSecond => Stopwatch.Frequency;

    public bool WaitUntil(long deadline, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (cancellationToken.IsCancellationRequested) return false;
            long remaining = deadline - Stopwatch.GetTimestamp();
            if (remaining <= 0) return true;
            double ms = remaining * 1000.0 / Stopwatch.Frequency;
            // Sleep the coarse part in short slices (cancellation stays responsive); the last ~1.2 ms is below
            // the scheduler's sleep granularity, so yield-spin it (yielding leaves the other core's work alone).
            if (ms > 1.2) Thread.Sleep(Math.Max(1, (int)Math.Min(ms - 1.2, 20)));
            else Thread.Yield();
        }
    }
}

/// <summary>A clock that only moves when waited on or advanced: drives the loop in tests without sleeping.</summary>
public sealed class ManualLoopClock : ILoopClock
{
    public ManualLoopClock(long ticksPerSecond = 1_000_000) => TicksPerSecond = ticksPerSecond;

    public long Now { get; private set; }
    public long TicksPerSecond { get; }

    public void Advance(long ticks) => Now += ticks;

    public bool WaitUntil(long deadline, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested) return false;
        if (deadline > Now) Now = deadline;
        return true;
    }
}
