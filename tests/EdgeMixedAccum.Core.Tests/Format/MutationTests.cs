using EdgeMixedAccum.Format;
using EdgeMixedAccum.Fuzzing;
using Xunit.Abstractions;

namespace EdgeMixedAccum.Tests.Format;

/// <summary>
/// Issue 8's deterministic mutation suite for the .ema reader: seeded bit flips, truncations, byte sets, length and
/// count inflation, section-table swaps and duplicates, chunk duplication (tests/fuzz/Shared/Mutations.cs), half of
/// them with the CRCs repaired so they reach the parsers, over every .ema fixture. Each case must load or raise an
/// <see cref="EmaException"/>, within the per-case timeout, allocating at most <see cref="Cap"/>.
/// </summary>
public class MutationTests(ITestOutputHelper output)
{
    /// <summary>The stated allocation cap of one read: the reader parses in place (tensors are views of the input), so it
    /// allocates metadata only (names, shapes, nodes), far below the file size; 1x the file plus 256 KiB leaves room
    /// for the graph of the largest fixtures without admitting a size taken from a hostile length field.</summary>
    public static long Cap(long fileBytes) => fileBytes + 256 * 1024;

    public static IEnumerable<object[]> Fixtures() =>
        Directory.EnumerateFiles(TestPaths.Fixtures, "*.ema", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(Path.Combine(TestPaths.Root, "tests", "fuzz", "corpus", "ema"), "*.ema"))
            .Order(StringComparer.Ordinal)
            .Select(p => new object[] { Path.GetRelativePath(TestPaths.Root, p) });

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void EveryMutation_LoadsOrFailsTyped_WithinTimeAndAllocationCap(string fixture)
    {
        var file = File.ReadAllBytes(Path.Combine(TestPaths.Root, fixture));
        EmaReader.Read(file, fixture); // the unmutated fixture reads: the mutations start from a valid file
        // Large files cost a CRC pass per case: fewer cases there keep the suite's time in seconds.
        int cases = file.Length > 100_000 ? 2000 : 10_000;
        var (stats, failures) = MutationRunner.Run(fixture, file, firstSeed: 1, cases, ema: true, b => EmaReader.Read(b, "mutant"), Cap);
        output.WriteLine($"{fixture}: {stats}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(stats.Rejected > cases / 2, $"only {stats.Rejected} of {cases} mutants rejected: the mutations are not reaching the checks");
    }

    [Fact]
    public void Runner_ReportsUntypedExceptions_Hangs_AndAllocationsOverTheCap()
    {
        // The checks of the runner itself must be able to fail.
        var file = File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "baro-mlp.ema"));
        var (_, untyped) = MutationRunner.Run("t", file, 1, 3, true, _ => throw new IndexOutOfRangeException("boom"), Cap);
        Assert.Equal(3, untyped.Count);
        Assert.Contains("IndexOutOfRangeException", untyped[0]);
        var (_, alloc) = MutationRunner.Run("t", file, 1, 1, true, b => GC.KeepAlive(new byte[b.Length + 300_000]), Cap);
        Assert.Contains("more than the cap", Assert.Single(alloc));
        var (_, hang) = MutationRunner.Run("t", file, 1, 5, true, _ => Thread.Sleep(2000), Cap, TimeSpan.FromMilliseconds(100));
        Assert.Contains("(hang)", Assert.Single(hang)); // the first hang ends the run
        var (s, typed) = MutationRunner.Run("t", file, 1, 2, true, _ => throw new EmaException("bad"), Cap);
        Assert.Empty(typed);
        Assert.Equal(2, s.Rejected);
    }
}
