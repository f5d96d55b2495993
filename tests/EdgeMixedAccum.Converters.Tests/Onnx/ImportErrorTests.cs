using EdgeMixedAccum.Converters.Onnx;
using EdgeMixedAccum.Converters.Onnx.Proto;

namespace EdgeMixedAccum.Converters.Tests.Onnx;

public class ImportErrorTests
{
    [Fact]
    public void Unsupported_op_names_type_node_and_sorted_supported_list()
    {
        var ob = new OnnxBuilder();
        ob.Input("x", "N", 3);
        ob.Node("LSTM", ["x"], "y", "encoder/lstm0");
        ob.Output("y");
        var e = Assert.Throws<EmaException>(() => ob.Import());
        Assert.Contains("LSTM", e.Message);
        Assert.Contains("'encoder/lstm0'", e.Message);
        var list = string.Join(", ", OnnxImporter.SupportedOps);
        Assert.Contains(list, e.Message);
        Assert.Equal(OnnxImporter.SupportedOps.Order(StringComparer.Ordinal), OnnxImporter.SupportedOps);
        foreach (var op in new[] { "Gemm", "MatMul", "Conv", "BatchNormalization", "Relu", "Clip", "Gelu", "Softmax", "Concat", "Shape", "Gather" })
            Assert.Contains(op, OnnxImporter.SupportedOps);
    }

    [Fact]
    public void Op_from_another_domain_is_unsupported()
    {
        var ob = new OnnxBuilder();
        ob.Input("x", "N", 3);
        ob.Node("Gelu", ["x"], "y", "ms_gelu");
        ob.Graph.Node[0].Domain = "com.microsoft";
        ob.Output("y");
        var e = Assert.Throws<EmaException>(() => ob.Import());
        Assert.Contains("com.microsoft.Gelu", e.Message);
        Assert.Contains("ms_gelu", e.Message);
    }

    [Fact]
    public void Foldable_only_op_on_runtime_tensor_is_refused_clearly()
    {
        var ob = new OnnxBuilder();
        ob.Input("x", "N", 3, 4);
        // Transpose runs on runtime tensors since issue 10; Sqrt still only folds.
        ob.Node("Sqrt", ["x"], "y", "root");
        ob.Output("y");
        var e = Assert.Throws<EmaException>(() => ob.Import());
        Assert.Contains("Sqrt", e.Message);
        Assert.Contains("root", e.Message);
        Assert.Contains("runtime", e.Message);
    }

    [Fact]
    public void Runtime_transpose_that_moves_the_batch_is_refused_clearly()
    {
        var ob = new OnnxBuilder();
        ob.Input("x", "N", 3, 4);
        ob.Node("Transpose", ["x"], "y", "tr", ("perm", new[] { 1, 0, 2 }));
        ob.Output("y");
        var e = Assert.Throws<EmaException>(() => ob.Import());
        Assert.Contains("Transpose node 'tr'", e.Message);
        Assert.Contains("batch", e.Message);
    }

    private static byte[] SmallModel()
    {
        var ob = FlattenModel();
        return ob.Bytes();
    }

    private static OnnxBuilder FlattenModel() => ShapeAndBatchImportTests.FlattenPatternModel(13, "N", out _, out _, out _);

    [Fact]
    public void Truncated_model_is_always_an_ema_exception()
    {
        var bytes = SmallModel();
        Assert.NotNull(OnnxImporter.Import(bytes, "full.onnx").Graph);
        int step = Math.Max(1, bytes.Length / 400);
        int cases = 0;
        for (int cut = 0; cut < bytes.Length; cut += step)
        {
            var e = Assert.Throws<EmaException>(() => OnnxImporter.Import(bytes.AsSpan(0, cut), "cut.onnx"));
            Assert.DoesNotContain("internal error", e.Message);
            Assert.Contains("cut.onnx", e.Message);
            cases++;
        }
        Assert.True(cases > 100);
        // A mid-field cut is reported as an invalid model in the words the issue asks for.
        var mid = Assert.Throws<EmaException>(() => OnnxImporter.Import(bytes.AsSpan(0, bytes.Length - 3), "m.onnx"));
        Assert.Contains("not a valid ONNX model: ", mid.Message);
    }

    [Fact]
    public void Garbage_and_corrupted_bytes_are_ema_exceptions()
    {
        var rng = new Random(5);
        for (int k = 0; k < 50; k++)
        {
            var junk = new byte[rng.Next(1, 300)];
            rng.NextBytes(junk);
            var e = Record.Exception(() => OnnxImporter.Import(junk, "junk.onnx"));
            Assert.IsType<EmaException>(e, exactMatch: false);
            Assert.DoesNotContain("internal error", e.Message);
        }
        // Flipped bytes inside a valid model: either imports or fails cleanly.
        var bytes = SmallModel();
        for (int k = 0; k < 1000; k++)
        {
            var b = (byte[])bytes.Clone();
            b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
            var e = Record.Exception(() => OnnxImporter.Import(b, "flip.onnx"));
            if (e is null) continue;
            Assert.IsType<EmaException>(e, exactMatch: false);
            Assert.DoesNotContain("internal error", e.Message);
        }
    }

    [Fact]
    public void Text_file_is_not_a_valid_model()
    {
        var e = Assert.Throws<EmaException>(() => OnnxImporter.Import("hello, this is not protobuf\n"u8, "readme.txt"));
        Assert.Contains("not a valid ONNX model", e.Message);
    }

    [Fact]
    public void External_data_is_refused_naming_the_tensor()
    {
        var ob = new OnnxBuilder();
        ob.Input("x", "N", 3);
        var t = new TensorProto { Name = "fc.weight", DataType = 1, DataLocation = TensorProto.Types.DataLocation.External };
        t.Dims.Add(3); t.Dims.Add(2);
        t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });
        ob.Graph.Initializer.Add(t);
        ob.Node("MatMul", ["x", "fc.weight"], "y");
        ob.Output("y");
        var e = Assert.Throws<EmaException>(() => ob.Import());
        Assert.Contains("fc.weight", e.Message);
        Assert.Contains("external", e.Message);
        Assert.Contains("weights.bin", e.Message);
    }

    [Fact]
    public void Raw_data_of_the_wrong_size_is_refused()
    {
        var ob = new OnnxBuilder();
        ob.Input("x", "N", 3);
        ob.Init("W", [3, 2], [1f, 2f, 3f]);
        ob.Node("MatMul", ["x", "W"], "y");
        ob.Output("y");
        var e = Assert.Throws<EmaException>(() => ob.Import());
        Assert.Contains("'W'", e.Message);
        Assert.Contains("raw_data", e.Message);
    }

    [Fact]
    public void Model_without_default_opset_or_with_unsupported_opset_is_refused()
    {
        var ob = new OnnxBuilder();
        ob.Input("x", "N", 3);
        ob.Node("Relu", ["x"], "y");
        ob.Output("y");
        ob.Model.OpsetImport[0].Version = 3;
        Assert.Contains("opset 3 is not supported", Assert.Throws<EmaException>(() => ob.Import()).Message);
        ob.Model.OpsetImport[0].Domain = "com.example";
        Assert.Contains("no opset of the default ONNX domain", Assert.Throws<EmaException>(() => ob.Import()).Message);
    }

    [Fact]
    public void Undefined_reads_and_unproduced_outputs_are_refused()
    {
        var ob = new OnnxBuilder();
        ob.Input("x", "N", 3);
        ob.Node("Relu", ["nowhere"], "y", "r0");
        ob.Output("y");
        var e = Assert.Throws<EmaException>(() => ob.Import());
        Assert.Contains("r0", e.Message);
        Assert.Contains("nowhere", e.Message);

        var ob2 = new OnnxBuilder();
        ob2.Input("x", "N", 3);
        ob2.Node("Relu", ["x"], "y");
        ob2.Output("z");
        Assert.Contains("'z' is never produced", Assert.Throws<EmaException>(() => ob2.Import()).Message);
    }

    [Fact]
    public void Unsorted_nodes_are_sorted()
    {
        var ob = new OnnxBuilder();
        ob.Input("x", "N", 3);
        ob.Node("Relu", ["a"], "y");
        ob.Node("Sigmoid", ["x"], "a");
        ob.Output("y");
        var r = ob.Import();
        Assert.Equal(2, r.Graph.Nodes.Count);
    }

    [Fact]
    public void Absurd_sizes_and_duplicate_metadata_fail_or_pass_cleanly()
    {
        var ob = new OnnxBuilder();
        ob.Input("x", "N", 4);
        ob.InitInt64("t", int.MaxValue, int.MaxValue, int.MaxValue);
        ob.Node("Reshape", ["x", "t"], "y", "rs");
        ob.Output("y");
        var e = Assert.Throws<EmaException>(() => ob.Import());
        Assert.DoesNotContain("internal error", e.Message);

        var ok = new OnnxBuilder();
        ok.Input("x", "N", 4);
        ok.Node("Relu", ["x"], "y");
        ok.Output("y");
        ok.Model.MetadataProps.Add(new StringStringEntryProto { Key = "k", Value = "1" });
        ok.Model.MetadataProps.Add(new StringStringEntryProto { Key = "k", Value = "2" });
        Assert.Equal("2", ok.Import().Model.MetadataProps["k"]);
    }

    [Fact]
    public void Attribute_of_the_wrong_type_names_node_and_attribute()
    {
        var ob = new OnnxBuilder();
        ob.Input("x", "N", 3);
        ob.Node("Flatten", ["x"], "y", "fl", ("axis", 1.5f));
        ob.Output("y");
        var e = Assert.Throws<EmaException>(() => ob.Import());
        Assert.Contains("fl", e.Message);
        Assert.Contains("'axis'", e.Message);
    }

    [Fact]
    public void Missing_file_is_an_ema_exception()
    {
        var e = Assert.Throws<EmaException>(() => OnnxImporter.Import(Path.Combine(Path.GetTempPath(), "no-such-model-3141.onnx")));
        Assert.Contains("cannot read", e.Message);
    }

    [Fact]
    public void Import_from_file_works()
    {
        string path = Path.Combine(Path.GetTempPath(), $"ema-onnx-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, SmallModel());
        try { Assert.Equal(3, OnnxImporter.Import(path).Graph.Nodes.Count); }
        finally { File.Delete(path); }
    }
}
