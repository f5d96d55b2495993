using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using static EdgeMixedAccum.Tests.Format.CorruptFiles;

namespace EdgeMixedAccum.Tests.Format;

/// <summary>EmaWriter.Write to disk (atomic replace, no temp files left) and what ToBytes refuses to write.</summary>
public sealed class WriterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ema-writer-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string[] Entries() => Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Order().ToArray()!;

    [Fact]
    public void Write_CreatesTheFileWithTheFullContent_AndNoTempFile()
    {
        var model = RandomModels.Generate(5);
        string path = Path.Combine(_dir, "model.ema");
        EmaWriter.Write(path, model);
        Assert.Equal(EmaWriter.ToBytes(model), File.ReadAllBytes(path));
        Assert.Equal(["model.ema"], Entries());
        ModelAssert.Equivalent(model, EmaReader.Read(path));
    }

    [Fact]
    public void Write_ReplacesAnExistingFile()
    {
        string path = Path.Combine(_dir, "model.ema");
        File.WriteAllText(path, new string('x', 100_000));
        var model = Small();
        EmaWriter.Write(path, model);
        Assert.Equal(EmaWriter.ToBytes(model), File.ReadAllBytes(path));
        Assert.Equal(["model.ema"], Entries());
        // Relative paths work too.
        string cwd = Environment.CurrentDirectory;
        EmaWriter.Write(Path.GetRelativePath(cwd, path), Conv());
        Assert.Equal(EmaWriter.ToBytes(Conv()), File.ReadAllBytes(path));
    }

    [Fact]
    public void Write_InvalidGraph_LeavesTheExistingFileUntouched()
    {
        string path = Path.Combine(_dir, "model.ema");
        EmaWriter.Write(path, Small());
        var before = File.ReadAllBytes(path);
        var bad = Small();
        bad.Graph.Nodes[^1].Output = bad.Graph.Nodes[0].Output; // produced twice
        Assert.Throws<GraphValidationException>(() => EmaWriter.Write(path, bad));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["model.ema"], Entries());
        // A model that fails later, while encoding (an over-long string), leaves it untouched too.
        var longName = Small();
        longName.Metadata.ModelName = new string('m', 70_000);
        Assert.Throws<EmaException>(() => EmaWriter.Write(path, longName));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["model.ema"], Entries());
    }

    [Fact]
    public void Write_FailingRename_RemovesTheTempFile()
    {
        // The target is a directory: the temp file is written, then the rename over it fails.
        string target = Path.Combine(_dir, "model.ema");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "keep.txt"), "keep");
        var e = Record.Exception(() => EmaWriter.Write(target, Small()));
        Assert.True(e is IOException or UnauthorizedAccessException, $"unexpected {e?.GetType().Name}: {e?.Message}");
        Assert.Equal(["model.ema"], Entries());
        Assert.True(Directory.Exists(target));
        Assert.Equal("keep", File.ReadAllText(Path.Combine(target, "keep.txt")));
    }

    [Fact]
    public void Write_IntoAMissingDirectory_Throws_AndCreatesNothing()
    {
        string path = Path.Combine(_dir, "missing", "model.ema");
        Assert.ThrowsAny<IOException>(() => EmaWriter.Write(path, Small()));
        Assert.Empty(Entries());
    }

    [Fact]
    public void Read_MissingFile_IsAnEmaException()
    {
        var e = Assert.Throws<EmaException>(() => EmaReader.Read(Path.Combine(_dir, "nope.ema")));
        Assert.Contains("nope.ema", e.Message);
        Assert.Throws<EmaException>(() => EmaReader.Read(Path.Combine(_dir, "no", "such", "dir.ema")));
    }

    [Fact]
    public void Read_CorruptFileOnDisk_NamesTheFile()
    {
        string path = Path.Combine(_dir, "cut.ema");
        File.WriteAllBytes(path, EmaWriter.ToBytes(Small())[..100]);
        var e = Assert.Throws<EmaFormatException>(() => EmaReader.Read(path));
        Assert.Equal("HEADER", e.Section);
        Assert.Equal(24, e.Offset);
        Assert.Contains($"'{path}'", e.Message);
        var big = Assert.Throws<EmaFormatException>(() => EmaReader.Read(path, new EmaReadOptions { MaxFileBytes = 99 }));
        Assert.Contains("more than the limit 99", big.Message);
    }

    // ---------------------------------------------------------------- what the writer refuses

    [Fact]
    public void ToBytes_RefusesLabelsThatDoNotMatchTheFirstOutput()
    {
        var m = Small(); // first output [N, 2]
        m.Metadata.Labels.Add("bird");
        Assert.Contains("3 labels", Assert.Throws<EmaException>(() => EmaWriter.ToBytes(m)).Message);
        m.Metadata.Labels.Clear();
        EmaWriter.ToBytes(m);
    }

    [Fact]
    public void ToBytes_RefusesBadMetadata()
    {
        var m = Small();
        m.Metadata.SourceSha256 = new byte[31];
        Assert.Throws<EmaException>(() => EmaWriter.ToBytes(m));
        m = Small();
        m.Metadata.Normalization = new InputNormalization([1f, 2f], [1f]);
        Assert.Throws<EmaException>(() => EmaWriter.ToBytes(m));
        m.Metadata.Normalization = new InputNormalization([], []);
        Assert.Throws<EmaException>(() => EmaWriter.ToBytes(m));
    }

    /// <summary>Tensors the reader would reject must not be written: the writer's output always reads back.</summary>
    [Fact]
    public void ToBytes_RefusesTensorValuesTheReaderRejects()
    {
        EmaModel With(TensorData w)
        {
            var b = new GraphBuilder();
            int x = b.Input("x", Shapes.Batch, 2);
            b.Output(b.Dense(x, w));
            return new EmaModel(new ModelMetadata(), b.Graph);
        }
        var cases = new (string What, TensorData W)[]
        {
            ("-128", TensorData.FromInt8("w", [2, 2], [1, 2, -128, 4], [1f, 1f])),
            ("scale", TensorData.FromInt8("w", [2, 2], [1, 2, 3, 4], [1f, -1f])),
            ("scale", TensorData.FromInt8("w", [2, 2], [1, 2, 3, 4], [float.NaN, 1f])),
            ("NaN", TensorData.FromFloat32("w", [2, 2], [1f, float.NaN, 3f, 4f])),
            ("NaN", TensorData.FromFloat16("w", [2, 2], [(Half)1f, Half.NaN, (Half)3f, (Half)4f])),
        };
        foreach (var (what, w) in cases)
        {
            var e = Assert.Throws<EmaException>(() => EmaWriter.ToBytes(With(w)));
            Assert.Contains(what, e.Message);
            Assert.Contains("'w'", e.Message);
        }
        // Infinite weights give infinite row norms: no bound survives them, so they are refused too.
        var inf = With(TensorData.FromFloat32("w", [2, 2], [float.PositiveInfinity, 1f, 2f, 3f]));
        var ei = Assert.Throws<EmaException>(() => EmaWriter.ToBytes(inf));
        Assert.Contains("not finite", ei.Message);
    }
}
