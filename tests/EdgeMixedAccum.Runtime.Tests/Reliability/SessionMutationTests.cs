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

/// <summary>Session.Load maps the file (MappedFile) instead of reading it: the same contract through that path.</summary>
public class SessionLoadFromDiskTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ema-load-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void MappedMutants_LoadOrFailTyped()
    {
        var file = File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "baro-mlp.ema"));
        string path = Path.Combine(_dir, "m.ema");
        int loaded = 0;
        for (int seed = 1; seed <= 300; seed++)
        {
            var (bytes, what) = Mutations.Mutate(file, seed, ema: true);
            File.WriteAllBytes(path, bytes);
            try
            {
                using var s = Session.Load(path);
                s.Run(new float[s.InputLength], new float[s.OutputLength]);
                loaded++;
            }
            catch (EmaException) { }
            catch (Exception e) { Assert.Fail($"{what}: {e.GetType().Name}: {e.Message}"); }
        }
        Assert.InRange(loaded, 1, 299);
    }

    [Fact]
    public void EmptyAndMissingFiles_AreTypedErrors()
    {
        string empty = Path.Combine(_dir, "empty.ema");
        File.WriteAllBytes(empty, []);
        var e = Assert.Throws<EmaFormatException>(() => Session.Load(empty));
        Assert.Contains("shorter than the 64-byte header", e.Message);
        var missing = Assert.ThrowsAny<EmaException>(() => Session.Load(Path.Combine(_dir, "nope.ema")));
        Assert.Contains("nope.ema", missing.Message);
    }

    [Fact]
    public void FileOverTheSizeLimit_IsRefusedBeforeItIsMapped()
    {
        string path = Path.Combine(_dir, "huge.ema");
        using (var fs = new FileStream(path, FileMode.CreateNew)) fs.SetLength(Limits.MaxFileBytes + 1); // sparse
        var e = Assert.Throws<EmaFormatException>(() => Session.Load(path));
        Assert.Equal("HEADER", e.Section);
        Assert.Contains($"more than the limit {Limits.MaxFileBytes}", e.Message);
    }
}
