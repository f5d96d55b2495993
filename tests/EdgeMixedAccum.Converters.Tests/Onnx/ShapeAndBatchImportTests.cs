using EdgeMixedAccum.Converters.Passes;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Converters.Tests.Onnx;

public class ShapeAndBatchImportTests
{
    /// <summary>
    /// Conv -> Relu -> x.view(x.size(0), -1) as PyTorch exports it (Shape, Gather, Unsqueeze, Concat, Reshape)
    /// -> Gemm. Unsqueeze takes axes as an attribute before opset 13 and as an input from 13 on.
    /// </summary>
    internal static OnnxBuilder FlattenPatternModel(int opset, object batchDim, out float[] convW, out float[] fcW, out float[] fcB)
    {
        const int c = 2, m = 3, h = 4, w = 4, classes = 5;
        convW = T.Rand(m * c * 9, 1); fcW = T.Rand(classes * m * h * w, 2); fcB = T.Rand(classes, 3);
        var ob = new OnnxBuilder(opset);
        ob.Input("input", batchDim, c, h, w);
        ob.Init("conv.weight", [m, c, 3, 3], convW);
        ob.Init("fc.weight", [classes, m * h * w], fcW);
        ob.Init("fc.bias", [classes], fcB);
        ob.Node("Conv", ["input", "conv.weight"], "c1", "/conv/Conv", ("pads", new[] { 1, 1, 1, 1 }), ("kernel_shape", new[] { 3, 3 }));
        ob.Node("Relu", ["c1"], "r1", "/relu/Relu");
        ob.Node("Shape", ["r1"], "s", "/Shape");
        ob.Node("Constant", [], "zero", "/Constant", ("value", OnnxBuilder.Int64Tensor("zero", [], [0])));
        ob.Node("Gather", ["s", "zero"], "g", "/Gather", ("axis", 0));
        if (opset < 13) ob.Node("Unsqueeze", ["g"], "u", "/Unsqueeze", ("axes", new[] { 0 }));
        else
        {
            ob.ConstInts("axes0", 0);
            ob.Node("Unsqueeze", ["g", "axes0"], "u", "/Unsqueeze");
        }
        ob.ConstInts("minus1", -1);
        ob.Node("Concat", ["u", "minus1"], "shape", "/Concat", ("axis", 0));
        ob.Node("Reshape", ["r1", "shape"], "flat", "/Reshape");
        ob.Node("Gemm", ["flat", "fc.weight", "fc.bias"], "logits", "/fc/Gemm", ("transB", 1));
        ob.Output("logits");
        return ob;
    }

    internal static double[] FlattenPatternExpected(float[] x, int n, float[] convW, float[] fcW, float[] fcB)
    {
        var conv = ConvPoolImportTests.ConvExpected(x, n, 2, 4, 4, convW, 3, 3, 3, null, 1, 1, 1, 1, 1, 1, 1, 1, 1, out _, out _);
        int f = 3 * 16;
        var y = new double[n * 5];
        for (int b = 0; b < n; b++)
            for (int o = 0; o < 5; o++)
            {
                double s = fcB[o];
                for (int t = 0; t < f; t++) s += fcW[o * f + t] * Math.Max(0, conv[b * f + t]);
                y[b * 5 + o] = s;
            }
        return y;
    }

    [Theory]
    [InlineData(11)]
    [InlineData(13)]
    [InlineData(17)]
    public void Dynamic_flatten_pattern_folds_to_a_static_reshape_with_symbolic_batch(int opset)
    {
        var ob = FlattenPatternModel(opset, "batch_size", out var cw, out var fw, out var fb);
        var r = ob.Import();
        Assert.Equal(BatchMode.Symbolic, r.Batch);
        Assert.Equal(opset, r.Model.Opset);
        Assert.Equal([Shapes.Batch, 2, 4, 4], r.Inputs[0].Shape);
        Assert.Equal([Shapes.Batch, 5], r.Outputs[0].Shape);
        Assert.Collection(r.Graph.Nodes,
            n => Assert.Equal(Activation.Relu, Assert.IsType<ConvNode>(n).Activation),
            n => Assert.Equal(0, Assert.IsType<ReshapeNode>(n).Target[0]),
            n => Assert.IsType<DenseNode>(n));
        foreach (int batch in new[] { 1, 3 })
        {
            var x = T.Rand(batch * 32, batch);
            var (y, shape) = T.Run(r.Graph, x, [batch, 2, 4, 4]);
            Assert.Equal([batch, 5], shape);
            T.Close(FlattenPatternExpected(x, batch, cw, fw, fb), y);
        }
    }

    [Fact]
    public void Fixed_batch_1_export_is_made_symbolic_and_reported()
    {
        var ob = FlattenPatternModel(13, 1, out var cw, out var fw, out var fb);
        var r = ob.Import();
        Assert.Equal(BatchMode.MadeSymbolic, r.Batch);
        Assert.Contains(r.Notes, n => n.Contains("made symbolic") && n.Contains("'input'"));
        Assert.Equal(Shapes.Batch, r.Inputs[0].Shape[0]);
        var x = T.Rand(4 * 32, 9);
        T.Close(FlattenPatternExpected(x, 4, cw, fw, fb), T.Run(r.Graph, x, [4, 2, 4, 4]).Y);
    }

    [Fact]
    public void Missing_dim_0_is_the_symbolic_batch()
    {
        var ob = FlattenPatternModel(13, null!, out _, out _, out _);
        var r = ob.Import();
        Assert.Equal(BatchMode.Symbolic, r.Batch);
        Assert.Equal(Shapes.Batch, r.Inputs[0].Shape[0]);
    }

    [Fact]
    public void Fixed_batch_with_a_constant_reshape_baked_in_is_relaxed_and_reported()
    {
        // x.view(1, -1) exported with constant folding (or tf2onnx's Reshape [1, 1280] in a fixed-batch Keras export):
        // the leading 1 of the target is read as the batch, so a batch of B is B runs of the batch-1 model, stacked.
        var ob = new OnnxBuilder(13);
        ob.Input("x", 1, 2, 3);
        ob.InitInt64("target", 1, -1);
        ob.Node("Reshape", ["x", "target"], "y", "flatten");
        ob.Output("y");
        var r = ob.Import();
        Assert.Equal(BatchMode.MadeSymbolic, r.Batch);
        Assert.Contains(r.Notes, n => n.Contains("made symbolic") && n.Contains("'flatten'"));
        Assert.Equal([Shapes.Batch, 2, 3], r.Inputs[0].Shape);
        Assert.Equal([Shapes.Batch, 6], r.Outputs[0].Shape);
        var x = T.Rand(18, 4);
        Assert.Equal(x.Select(v => (double)v), T.Run(r.Graph, x, [3, 2, 3]).Y);
    }

    [Fact]
    public void Fixed_batch_with_a_reshape_that_mixes_the_batch_is_kept_and_reported()
    {
        // [1, 6] -> [2, 3]: the target's leading dim is not the batch; with batch 2 the element counts differ.
        var ob = new OnnxBuilder(13);
        ob.Input("x", 1, 6);
        ob.InitInt64("target", 2, 3);
        ob.Node("Reshape", ["x", "target"], "y");
        ob.Output("y");
        var r = ob.Import();
        Assert.Equal(BatchMode.KeptFixed, r.Batch);
        Assert.Contains(r.Notes, n => n.Contains("kept"));
        Assert.Equal([1, 6], r.Inputs[0].Shape);
        Assert.Equal([2, 3], r.Outputs[0].Shape);
    }

    [Fact]
    public void Symbolic_inner_dims_are_refused()
    {
        var ob = new OnnxBuilder();
        ob.Input("x", "N", "seq", 3);
        ob.Node("Relu", ["x"], "y");
        ob.Output("y");
        var e = Assert.Throws<EmaException>(() => ob.Import());
        Assert.Contains("dim 1", e.Message);
        Assert.Contains("seq", e.Message);
    }

    [Fact]
    public void Batch_dependent_constant_outside_a_reshape_target_is_refused()
    {
        // ConstantOfShape(Shape(x)) added to x: the constant's shape follows the batch.
        var ob = new OnnxBuilder(13);
        ob.Input("x", "N", 3);
        ob.Node("Shape", ["x"], "s");
        ob.Node("ConstantOfShape", ["s"], "z", "zeros", ("value", OnnxBuilder.FloatTensor("v", [1], [1f])));
        ob.Node("Add", ["x", "z"], "y", "add0");
        ob.Output("y");
        var e = Assert.Throws<EmaException>(() => ob.Import());
        Assert.Contains("depends on the batch", e.Message);
        Assert.Contains("add0", e.Message);
    }

    [Theory]
    [InlineData(11, 1, true)]
    [InlineData(11, -1, true)]
    [InlineData(11, 1, false)]
    [InlineData(13, 1, false)]
    public void Softmax_axis_semantics_by_opset(int opset, int axis, bool rank2)
    {
        var ob = new OnnxBuilder(opset);
        ob.Input("x", rank2 ? new object[] { "N", 6 } : new object[] { "N", 3, 2 });
        ob.Node("Softmax", ["x"], "y", "sm", ("axis", axis));
        ob.Output("y");
        if (opset < 13 && !rank2)
        {
            // Opset 11 softmax over the flattened dims 1.. of [N, 3, 2] is not a per-axis softmax.
            var e = Assert.Throws<EmaException>(() => ob.Import());
            Assert.Contains("sm", e.Message);
            Assert.Contains("opset 13", e.Message);
            return;
        }
        var r = ob.Import();
        var x = T.Rand(rank2 ? 12 : 12, 3, 3);
        int[] shape = rank2 ? [2, 6] : [2, 3, 2];
        var (y, _) = T.Run(r.Graph, x, shape);
        // Expected: softmax along axis (opset 13) or along the last dim (rank 2, axis 1 or -1).
        int len = shape[axis < 0 ? shape.Length + axis : axis], inner = rank2 ? 1 : (axis == 1 ? 2 : 1);
        var exp = new double[12];
        for (int o = 0; o < 12 / (len * inner); o++)
            for (int i = 0; i < inner; i++)
            {
                double mx = double.NegativeInfinity, sum = 0;
                for (int j = 0; j < len; j++) mx = Math.Max(mx, x[(o * len + j) * inner + i]);
                for (int j = 0; j < len; j++) sum += Math.Exp(x[(o * len + j) * inner + i] - mx);
                for (int j = 0; j < len; j++) exp[(o * len + j) * inner + i] = Math.Exp(x[(o * len + j) * inner + i] - mx) / sum;
            }
        T.Close(exp, y, 1e-9);
    }

    [Fact]
    public void Residual_add_concat_identity_dropout_and_squeeze_unsqueeze()
    {
        var ob = new OnnxBuilder(13);
        ob.Input("x", "N", 4);
        ob.Init("W", [4, 4], T.Rand(16, 1));
        ob.Node("MatMul", ["x", "W"], "h");
        ob.Node("Relu", ["h"], "a");
        ob.Node("Identity", ["a"], "a2");
        ob.Init("ratio", 0.5f);
        ob.NodeMulti("Dropout", ["a2", "ratio"], ["d", "mask"]);
        ob.Node("Add", ["d", "x"], "res");
        ob.Node("Concat", ["res", "x"], "cat", attrs: ("axis", 1));
        ob.ConstInts("ax", 1);
        ob.Node("Unsqueeze", ["cat", "ax"], "u");
        ob.Node("Squeeze", ["u", "ax"], "sq");
        ob.Node("Identity", ["sq"], "y");
        ob.Output("y");
        var r = ob.Import();
        Assert.DoesNotContain(r.Graph.Nodes, n => n.Name.Contains("Identity") || n.Name.Contains("Dropout"));
        Assert.Equal("y", r.Outputs[0].Name);
        Assert.Equal([Shapes.Batch, 8], r.Outputs[0].Shape);
        var x = T.Rand(8, 2);
        var (y, _) = T.Run(r.Graph, x, [2, 4]);
        var w = T.Rand(16, 1);
        var exp = new double[16];
        for (int b = 0; b < 2; b++)
            for (int o = 0; o < 4; o++)
            {
                double s = 0;
                for (int t = 0; t < 4; t++) s += (double)w[t * 4 + o] * x[b * 4 + t];
                exp[b * 8 + o] = Math.Max(0, s) + x[b * 4 + o];
                exp[b * 8 + 4 + o] = x[b * 4 + o];
            }
        T.Close(exp, y);
    }

    [Fact]
    public void Sub_of_a_constant_and_reshape_with_constant_target()
    {
        var ob = new OnnxBuilder(13);
        ob.Input("x", "N", 2, 3);
        ob.Init("mean", [3], [1f, 2f, 3f]);
        ob.Node("Sub", ["x", "mean"], "c");
        ob.InitInt64("t", -1, 6);
        ob.Node("Reshape", ["c", "t"], "y");
        ob.Output("y");
        var r = ob.Import();
        Assert.Equal([Shapes.Batch, 6], r.Outputs[0].Shape);
        var x = T.Rand(12, 5);
        T.Close(x.Select((v, i) => (double)v - (i % 3 + 1)).ToArray(), T.Run(r.Graph, x, [2, 2, 3]).Y);
    }

    [Fact]
    public void Initializers_listed_as_inputs_are_constants()
    {
        var ob = new OnnxBuilder(opset: 9, irVersion: 3);
        ob.Input("x", "N", 3);
        ob.Input("W", 3, 2); // an IR < 4 export lists every initializer among the inputs
        ob.Init("W", [3, 2], T.Rand(6, 1));
        ob.Node("MatMul", ["x", "W"], "y");
        ob.Output("y");
        var r = ob.Import();
        Assert.Single(r.Inputs);
        Assert.Equal("x", r.Inputs[0].Name);
        Assert.IsType<DenseNode>(Assert.Single(r.Graph.Nodes));
    }

    [Fact]
    public void Metadata_is_reported()
    {
        var ob = new OnnxBuilder(opset: 17, irVersion: 8, producer: "pytorch");
        ob.Model.ProducerVersion = "2.4.0";
        ob.Graph.Name = "main_graph";
        ob.Input("x", "N", 3);
        ob.Node("Relu", ["x"], "y");
        ob.Output("y");
        var r = ob.Import();
        Assert.Equal("pytorch", r.Model.ProducerName);
        Assert.Equal("2.4.0", r.Model.ProducerVersion);
        Assert.Equal(8, r.Model.IrVersion);
        Assert.Equal(17, r.Model.Opset);
        Assert.Equal("main_graph", r.Model.GraphName);
    }

    [Fact]
    public void Typed_data_fields_and_other_float_types_load()
    {
        // The weight in float_data (not raw), the bias as FLOAT16 raw bytes, a DOUBLE scale in double_data.
        var w = new float[] { 1, 2, 3, 4, 5, 6 };
        var ob = new OnnxBuilder(13);
        ob.Input("x", "N", 3);
        ob.Init("W", [3, 2], w, raw: false);
        var bias = new EdgeMixedAccum.Converters.Onnx.Proto.TensorProto { Name = "b", DataType = 10 };
        bias.Dims.Add(2);
        var hb = new byte[4];
        BitConverter.TryWriteBytes(hb.AsSpan(0, 2), BitConverter.HalfToUInt16Bits((Half)0.5f));
        BitConverter.TryWriteBytes(hb.AsSpan(2, 2), BitConverter.HalfToUInt16Bits((Half)(-1.25f)));
        bias.RawData = Google.Protobuf.ByteString.CopyFrom(hb);
        ob.Graph.Initializer.Add(bias);
        var scale = new EdgeMixedAccum.Converters.Onnx.Proto.TensorProto { Name = "s", DataType = 11 };
        scale.DoubleData.Add(2.0);
        ob.Graph.Initializer.Add(scale);
        ob.Node("MatMul", ["x", "W"], "h");
        ob.Node("Add", ["h", "b"], "y0");
        ob.Node("Mul", ["s", "s"], "s2"); // constant-folded to 4
        ob.Node("Sub", ["y0", "s2"], "y");
        ob.Output("y");
        var r = ob.Import();
        var (y, _) = T.Run(r.Graph, [1, 1, 1], [1, 3]);
        T.Close([1 + 3 + 5 + 0.5 - 4, 2 + 4 + 6 - 1.25 - 4], y);
    }
}
