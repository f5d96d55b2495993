using System.Diagnostics;

namespace EdgeMixedAccum.Fuzzing;

/// <summary>
/// Runs seeded mutations of one file through a loader and collects every case that breaks the contract: the
/// loader must return or throw an <see cref="EmaException"/> (the project's typed error for bad input), finish
/// within <see cref="Timeout"/>, and allocate at most <c>cap(mutated length)</c> bytes (measured on the thread
/// that runs the case). Each case runs on a pool thread so a hang is reported instead of holding the suite.
/// </summary>
public static class MutationRunner
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public sealed record Stats(int Cases, int Loaded, int Rejected, long MaxAllocated, double MaxAllocatedPerByte, TimeSpan Slowest);

    public static (Stats Stats, List<string> Failures) Run(string name, byte[] file, int firstSeed, int cases, bool ema,
        Action<byte[]> load, Func<long, long> cap, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Timeout;
        var failures = new List<string>();
        int loaded = 0, rejected = 0;
        long maxAlloc = 0; double maxPerByte = 0; var slowest = TimeSpan.Zero;
        for (int seed = firstSeed; seed < firstSeed + cases && failures.Count < 10; seed++)
        {
            var (bytes, what) = Mutations.Mutate(file, seed, ema);
            var task = Task.Run(() =>
            {
                var sw = Stopwatch.StartNew();
                long before = GC.GetAllocatedBytesForCurrentThread();
                Exception? error = null;
                try { load(bytes); }
                catch (Exception e) { error = e; }
                return (Alloc: GC.GetAllocatedBytesForCurrentThread() - before, Error: error, Time: sw.Elapsed);
            });
            if (!task.Wait(limit)) { failures.Add($"{name} {what}: no result after {limit.TotalSeconds} s (hang)"); break; }
            var (alloc, err, time) = task.Result;
            if (time > slowest) slowest = time;
            if (alloc > maxAlloc) maxAlloc = alloc;
            maxPerByte = Math.Max(maxPerByte, (double)alloc / Math.Max(1, bytes.Length));
            if (err is null) loaded++;
            else if (err is EmaException) rejected++;
            else failures.Add($"{name} {what}: {err.GetType().Name}: {err.Message}\n{err.StackTrace}");
            if (alloc > cap(bytes.Length)) failures.Add($"{name} {what}: allocated {alloc} bytes, more than the cap {cap(bytes.Length)} for {bytes.Length} bytes");
        }
        return (new Stats(cases, loaded, rejected, maxAlloc, maxPerByte, slowest), failures);
    }
}
