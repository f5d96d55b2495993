using EdgeMixedAccum.Converters.Onnx;
using EdgeMixedAccum.Converters.Onnx.Proto;
using EdgeMixedAccum.Converters.Tests.Onnx;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Tests;
using Google.Protobuf;

namespace EdgeMixedAccum.Converters.Tests.Reliability;

/// <summary>
/// Issue 8: the converter's output is deterministic (the same ONNX gives the same .ema bytes, converted twice in one
/// process and written twice to disk), and the importer's limits (<see cref="Limits"/>) reject hostile declared sizes
/// with a clear error before allocating them.
/// </summary>
public class ConverterRobustnessTests
{
    public static IEnumerable<object[]> TopFixtures() => ConverterMutationTests.TopFixtures();

    [Theory]
    [MemberData(nameof(TopFixtures))]
    public void ConvertingTwice_GivesByteIdenticalEma(string fixture)
    {
        var onnx = File.ReadAllBytes(Path.Combine(TestPaths.Root, fixture));
        var a = EmaWriter.ToBytes(Converter.Convert(onnx, fixture, new ConvertOptions()).Model);
        var b = EmaWriter.ToBytes(Converter.Convert((byte[])onnx.Clone(), fixture, new ConvertOptions()).Model);
        Assert.Equal(a, b);
        var dir = Directory.CreateTempSubdirectory("ema-det-").FullName;
        try
        {
            string p1 = Path.Combine(dir, "a.ema"), p2 = Path.Combine(dir, "b.ema");
            EmaWriter.Write(p1, Converter.Convert(Path.Combine(TestPaths.Root, fixture), new ConvertOptions()).Model);
            EmaWriter.Write(p2, Converter.Convert(Path.Combine(TestPaths.Root, fixture), new ConvertOptions()).Model);
            Assert.Equal(File.ReadAllBytes(p1), File.ReadAllBytes(p2));
            Assert.Equal(a.Length, new FileInfo(p1).Length); // the path and the in-memory name give the same model
        }
        finally { Directory.Delete(dir, true); }
    }

    private static EmaException ImportFails(byte[] onnx, long maxAlloc = 1 << 20)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.ThrowsAny<EmaException>(() => OnnxImporter.Import(onnx, "hostile.onnx"));
        long alloc = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(alloc < maxAlloc + 4L * onnx.Length, $"the import allocated {alloc} bytes for a {onnx.Length}-byte model");
        Assert.StartsWith("'hostile.onnx'", e.Message);
        return e;
    }

    private static OnnxBuilder Mlp()
    {
        var b = new OnnxBuilder();
        string x = b.Input("x", "N", 4);
        string w = b.Init("w", [3, 4], T.Rand(12, 1));
        b.Output(b.Node("Gemm", [x, w], "y", attrs: ("transB", 1L)));
        return b;
    }

    [Fact]
    public void InitializerOverTheElementLimit_IsRejectedBeforeAllocation()
    {
        var b = Mlp();
        // 2^28 declared elements and no data: the old reader allocated the float[2^28] (1 GiB) before counting the data.
        b.Graph.Initializer.Add(new TensorProto { Name = "huge", DataType = 1, Dims = { 1 << 14, 1 << 14 } });
        var e = ImportFails(b.Bytes());
        Assert.Contains("initializer 'huge'", e.Message);
        Assert.Contains("Limits.MaxTensorElements", e.Message);
    }

    [Fact]
    public void InitializerWhoseDataIsShorterThanItsShape_IsRejectedBeforeAllocation()
    {
        var b = Mlp();
        b.Graph.Initializer.Add(new TensorProto { Name = "short", DataType = 1, Dims = { 1 << 13, 1 << 13 }, FloatData = { 1f, 2f, 3f } });
        var e = ImportFails(b.Bytes());
        Assert.Contains("initializer 'short'", e.Message);
        Assert.Contains("float_data holds 3 elements", e.Message);
    }

    [Fact]
    public void GraphInputOverTheElementLimit_NamesTheInput()
    {
        var b = new OnnxBuilder();
        string x = b.Input("x", "N", 1 << 14, 1 << 14);
        b.Output(b.Node("Relu", [x], "y"));
        var e = ImportFails(b.Bytes());
        Assert.Contains("graph input 'x'", e.Message);
        Assert.Contains("Limits.MaxTensorElements", e.Message);
    }

    [Fact]
    public void GraphOverTheNodeLimit_IsRejectedBeforeItsNodesAreRead()
    {
        var b = new OnnxBuilder();
        string v = b.Input("x", "N", 4);
        for (int i = 0; i <= Limits.MaxGraphNodes; i++) v = b.Node("Relu", [v], $"r{i}");
        b.Output(v);
        var bytes = b.Bytes();
        var e = ImportFails(bytes, maxAlloc: 64L << 20); // protobuf's own parse of 65537 nodes is what it costs
        Assert.Contains($"{Limits.MaxGraphNodes + 1} nodes, more than the limit {Limits.MaxGraphNodes}", e.Message);
    }

    [Fact]
    public void OnnxFileOverTheSizeLimit_IsRejectedBeforeItIsRead()
    {
        string path = Path.Combine(Path.GetTempPath(), $"ema-limit-{Guid.NewGuid():N}.onnx");
        try
        {
            using (var fs = new FileStream(path, FileMode.CreateNew)) fs.SetLength(Limits.MaxFileBytes + 1); // sparse
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = Assert.ThrowsAny<EmaException>(() => OnnxImporter.Import(path));
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
            Assert.Contains($"more than the limit {Limits.MaxFileBytes}", e.Message);
            Assert.Contains(path, e.Message);
        }
        finally { File.Delete(path); }
    }
}
