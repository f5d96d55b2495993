using EdgeMixedAccum.Converters.Onnx;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Tests;

namespace EdgeMixedAccum.Converters.Tests.Reliability;

/// <summary>
/// Inputs the fuzzer found (docs/fuzzing.md, "Results"), kept as ONNX files built by `EdgeMixedAccum.Fuzz dump`.
/// tests/fuzz/findings/fixed: each must now import and round-trip through the .ema writer and reader, or be refused
/// with a typed error that is not the importer's internal-error wrapper. tests/fuzz/findings/open: bugs in the
/// passes, outside issue 8's files: the importer still contains them (a typed EmaException, never an escaping
/// exception), and this test says so; move a file to fixed/ with its fix.
/// </summary>
public class FuzzFindingTests
{
    private static string Dir(string kind) => Path.Combine(TestPaths.Root, "tests", "fuzz", "findings", kind);

    public static IEnumerable<object[]> Files(string kind) =>
        Directory.Exists(Dir(kind))
            ? Directory.EnumerateFiles(Dir(kind), "*.onnx").Order(StringComparer.Ordinal).Select(p => new object[] { Path.GetFileName(p) })
            : [];

    [Theory]
    [MemberData(nameof(Files), "fixed")]
    public void Fixed_ImportsAndRoundTrips_OrIsRefusedCleanly(string file)
    {
        var bytes = File.ReadAllBytes(Path.Combine(Dir("fixed"), file));
        OnnxImportResult r;
        try { r = OnnxImporter.Import(bytes, file); }
        catch (EmaException e)
        {
            Assert.DoesNotContain("internal error", e.Message);
            Assert.StartsWith($"'{file}'", e.Message);
            return;
        }
        var ema = EmaWriter.ToBytes(new EmaModel(new ModelMetadata { ModelName = "f" }, r.Graph));
        EmaReader.Read(ema, file);
    }

    /// <summary>A Fact over the folder (none is open today): an input put there must still fail as the typed
    /// internal-error wrapper; once its bug is fixed this fails and the file moves to fixed/.</summary>
    [Fact]
    public void Open_AreContainedAsTypedErrors()
    {
        foreach (var row in Files("open"))
        {
            string file = (string)row[0];
            var bytes = File.ReadAllBytes(Path.Combine(Dir("open"), file));
            var e = Assert.ThrowsAny<EmaException>(() => OnnxImporter.Import(bytes, file));
            Assert.Contains("internal error in the ONNX importer", e.Message);
        }
    }

    [Fact]
    public void TheRoundTripFinding_IsRefusedByTheImporterNamingTheValue()
    {
        var bytes = File.ReadAllBytes(Path.Combine(Dir("fixed"), "activations-over-limit.onnx"));
        var e = Assert.ThrowsAny<EmaException>(() => OnnxImporter.Import(bytes, "a.onnx"));
        Assert.Contains("Limits.MaxActivationElements", e.Message);
        Assert.Matches("value [0-9]+ '", e.Message);
    }
}
