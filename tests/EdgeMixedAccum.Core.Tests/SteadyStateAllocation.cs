namespace EdgeMixedAccum.Tests;

/// <summary>
/// Bytes that steady-state work allocates on this thread, over up to <c>windows</c> runs of one measured window,
/// the least taken. Tiered JIT may allocate once on the test thread while it promotes a method mid-window (seen in
/// CI on the loop tick and the C ABI tests, and once in a Runtime suite run whose failing test was not captured);
/// work that allocates does so in every window, so a nonzero least is a real allocation. Every zero-allocation
/// test of the Core and Runtime suites measures through this (the Runtime suite links this file).
/// </summary>
internal static class SteadyStateAllocation
{
    /// <returns>The least bytes over the windows run, and how many ran (it stops at the first clean one).</returns>
    public static (long Bytes, int Windows) Least(Action window, int windows = 3)
    {
        long least = long.MaxValue;
        int ran = 0;
        while (ran < windows && least != 0)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            window();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
            ran++;
        }
        return (least, ran);
    }
}
