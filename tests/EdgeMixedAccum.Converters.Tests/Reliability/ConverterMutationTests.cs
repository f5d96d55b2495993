using System.Diagnostics;
using EdgeMixedAccum.Converters.Onnx;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Fuzzing;
using EdgeMixedAccum.Tests;
using Xunit.Abstractions;

namespace EdgeMixedAccum.Converters.Tests.Reliability;

/// <summary>
/// Issue 8's deterministic mutation suite on the converter side: seeded bit flips, truncations, byte sets, protobuf
/// length inflation, chunk swaps and duplicates (tests/fuzz/Shared/Mutations.cs) of every ONNX fixture through
/// <see cref="OnnxImporter.Import(ReadOnlySpan{byte}, string)"/>, and the structure-aware .ema mutations of what the
/// converter writes for each fixture through the reader. Every case must import (or read) or raise an
/// <see cref="EmaException"/> that is not the importer's "internal error" wrapper, within the timeout, under the cap.
/// </summary>
public class ConverterMutationTests(ITestOutputHelper output)
{
    /// <summary>The stated allocation cap of one import: protobuf copies the bytes it keeps, constants become float
    /// (or long) arrays and the passes copy them a few times; 12 bytes per input byte (8 for an int8 raw tensor widened
    /// to long, plus the copies) and 4 MiB for the graph objects. A declared size the input does not back must not pass it.</summary>
    public static long ImportCap(long fileBytes) => 12 * fileBytes + (4 << 20);

    public static IEnumerable<object[]> OnnxFixtures() =>
        Directory.EnumerateFiles(TestPaths.Fixtures, "*.onnx", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(p => new object[] { Path.GetRelativePath(TestPaths.Root, p) });

    public static IEnumerable<object[]> TopFixtures() =>
        Directory.EnumerateFiles(TestPaths.Fixtures, "*.onnx").Order(StringComparer.Ordinal)
            .Select(p => new object[] { Path.GetRelativePath(TestPaths.Root, p) });

    private static void Import(byte[] b)
    {
        try { OnnxImporter.Import(b, "mutant.onnx"); }
        catch (EmaException e) when (e.Message.Contains("internal error", StringComparison.Ordinal))
        {
            // The importer wraps its own bugs in an EmaException that says so: for this suite that is a failure.
            throw new InvalidOperationException(e.Message, e);
        }
    }

    [Theory]
    [MemberData(nameof(OnnxFixtures))]
    public void EveryOnnxMutation_ImportsOrFailsTyped_WithinTimeAndAllocationCap(string fixture)
    {
        var file = File.ReadAllBytes(Path.Combine(TestPaths.Root, fixture));
        // Cost grows with the file (each case parses it whole): fewer cases for the large exports.
        int cases = file.Length > 1_000_000 ? 12 : file.Length > 100_000 ? 60 : 400;
        var sw = Stopwatch.StartNew();
        var (stats, failures) = MutationRunner.Run(fixture, file, firstSeed: 1, cases, ema: false, Import, ImportCap);
        output.WriteLine($"{fixture} ({file.Length} bytes): {stats} in {sw.ElapsedMilliseconds} ms");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Theory]
    [MemberData(nameof(TopFixtures))]
    public void EveryMutationOfTheConvertedEma_ReadsOrFailsTyped(string fixture)
    {
        var ema = EmaWriter.ToBytes(Converter.Convert(File.ReadAllBytes(Path.Combine(TestPaths.Root, fixture)), fixture, new ConvertOptions()).Model);
        int cases = ema.Length > 1_000_000 ? 100 : ema.Length > 100_000 ? 400 : 1500;
        var (stats, failures) = MutationRunner.Run(fixture + ".ema", ema, firstSeed: 1, cases, ema: true,
            b => EmaReader.Read(b, "mutant.ema"), n => n + 256 * 1024); // the reader's cap (Core's MutationTests.Cap)
        output.WriteLine($"{fixture} -> .ema ({ema.Length} bytes): {stats}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(stats.Rejected > cases / 2, $"only {stats.Rejected} of {cases} rejected");
    }
}
