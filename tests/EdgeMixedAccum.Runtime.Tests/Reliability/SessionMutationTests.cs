using EdgeMixedAccum.Format;
using EdgeMixedAccum.Fuzzing;
using EdgeMixedAccum.Runtime.Engine;
using EdgeMixedAccum.Tests;
using Xunit.Abstractions;

namespace EdgeMixedAccum.Runtime.Tests.Reliability;

/// <summary>
/// The mutation suite one step further than the reader: every mutant the reader accepts must also build a
/// <see cref="Session"/> and run one sample of zeros, or fail with an <see cref="EmaException"/> (issue 8). The
/// fuzz harness's `ema` target does the same under AFL++.
/// </summary>
public class SessionMutationTests(ITestOutputHelper output)
{
    public static IEnumerable<object[]> Fixtures() => NumericalHostilityTests.Fixtures.Select(f => new object[] { f });

    private static void LoadAndRun(byte[] b)
    {
        var model = EmaReader.Read(b, "mutant.ema");
        using var s = new Session(model);
        s.Run(new float[s.InputLength], new float[s.OutputLength]);
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void MutantsTheReaderAccepts_LoadAndRunOrFailTyped(string fixture)
    {
        var file = File.ReadAllBytes(Path.Combine(TestPaths.Root, fixture));
        int cases = file.Length > 100_000 ? 300 : 1500;
        // The session allocates its activation buffers and prepared weights: a few times the file, plus the graph.
        var (stats, failures) = MutationRunner.Run(fixture, file, firstSeed: 100_000, cases, ema: true, LoadAndRun, n => 8 * n + (2 << 20));
        output.WriteLine($"{fixture}: {stats}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(stats.Loaded > 0, "no mutant loaded: the suite would not reach the session");
    }
}
