using EdgeMixedAccum.Converters.Passes;
using static EdgeMixedAccum.Converters.Passes.ImportAttribute;

namespace EdgeMixedAccum.Converters.Tests.Passes;

public class ConstantFoldingPassTests
{
    private static ImportGraph Graph(int opset = 13)
    {
        var g = new ImportGraph { Opset = opset };
        g.AddInput("x", 2, 3, 4);
        return g;
    }

    private static long[] Ints(ImportGraph g, string name) => g.Constants[name].ToIntArray(name);

    [Fact]
    public void Shape_gather_unsqueeze_concat_fold_to_the_reshape_target()
    {
        var g = Graph();
        g.AddNode("Shape", ["x"], ["s"]);
        g.AddConstant("i0", ConstTensor.Int([], [0]));
        g.AddNode("Gather", ["s", "i0"], ["b"], Of("axis", 0L));
        g.AddConstant("ax", ConstTensor.Vector(0));
        g.AddNode("Unsqueeze", ["b", "ax"], ["u"]);
        g.AddConstant("m1", ConstTensor.Vector(-1));
        g.AddNode("Concat", ["u", "m1"], ["t"], Of("axis", 0L));
        g.AddNode("Reshape", ["x", "t"], ["y"]);
        g.Outputs.Add("y");
        new ConstantFoldingPass().Run(g);
        Assert.Equal(new long[] { 2, -1 }, Ints(g, "t"));
        var n = Assert.Single(g.Nodes);
        Assert.Equal("Reshape", n.OpType);
        Assert.Equal([2, 12], g.Shapes["y"]);
    }

    [Fact]
    public void Shape_of_a_symbolic_batch_value_is_left_alone()
    {
        var g = new ImportGraph();
        g.AddInput("x", EdgeMixedAccum.Graph.Shapes.Batch, 3);
        g.AddNode("Shape", ["x"], ["s"]);
        g.Outputs.Add("s");
        new ConstantFoldingPass().Run(g);
        Assert.Single(g.Nodes);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(13)]
    public void Unsqueeze_and_squeeze_axes_follow_the_opset(int opset)
    {
        var g = Graph(opset);
        g.AddConstant("v", ConstTensor.Float([3], [1, 2, 3]));
        if (opset < 13)
        {
            g.AddNode("Unsqueeze", ["v"], ["u"], Of("axes", new long[] { 0, -1 }));
            g.AddNode("Squeeze", ["u"], ["s"], Of("axes", new long[] { 0 }));
        }
        else
        {
            g.AddConstant("ax", ConstTensor.Vector(0, -1));
            g.AddNode("Unsqueeze", ["v", "ax"], ["u"]);
            g.AddConstant("ax0", ConstTensor.Vector(0));
            g.AddNode("Squeeze", ["u", "ax0"], ["s"]);
        }
        g.AddNode("Squeeze", ["u"], ["all"]);
        g.Outputs.AddRange(["u", "s", "all"]);
        new ConstantFoldingPass().Run(g);
        Assert.Empty(g.Nodes);
        Assert.Equal([1, 3, 1], g.Constants["u"].Shape);
        Assert.Equal([3, 1], g.Constants["s"].Shape);
        Assert.Equal([3], g.Constants["all"].Shape);
    }

    [Fact]
    public void Slice_with_int64_max_end_negative_steps_and_opset_9_attributes()
    {
        var g = Graph(13);
        g.AddConstant("d", ConstTensor.Int([2, 5], [0, 1, 2, 3, 4, 10, 11, 12, 13, 14]));
        g.AddConstant("st", ConstTensor.Vector(1));
        g.AddConstant("en", ConstTensor.Vector(long.MaxValue));
        g.AddConstant("ax", ConstTensor.Vector(1));
        g.AddNode("Slice", ["d", "st", "en", "ax"], ["a"]);
        g.AddConstant("st2", ConstTensor.Vector(-1));
        g.AddConstant("en2", ConstTensor.Vector(long.MinValue));
        g.AddConstant("sp2", ConstTensor.Vector(-2));
        g.AddNode("Slice", ["d", "st2", "en2", "ax", "sp2"], ["b"]);
        g.Outputs.AddRange(["a", "b"]);
        new ConstantFoldingPass().Run(g);
        Assert.Equal([2, 4], g.Constants["a"].Shape);
        Assert.Equal(new long[] { 1, 2, 3, 4, 11, 12, 13, 14 }, Ints(g, "a"));
        Assert.Equal(new long[] { 4, 2, 0, 14, 12, 10 }, Ints(g, "b"));

        var g9 = Graph(9);
        g9.AddConstant("d", ConstTensor.Int([4], [5, 6, 7, 8]));
        g9.AddNode("Slice", ["d"], ["a"], Of("starts", new long[] { 1 }), Of("ends", new long[] { -1 }));
        g9.Outputs.Add("a");
        new ConstantFoldingPass().Run(g9);
        Assert.Equal(new long[] { 6, 7 }, Ints(g9, "a"));
    }

    [Fact]
    public void Arithmetic_cast_transpose_constant_of_shape_and_constant_nodes()
    {
        var g = Graph();
        g.AddNode("Constant", [], ["k"], Of("value_ints", new long[] { 7, -7 }));
        g.AddConstant("two", ConstTensor.Int([], [2]));
        g.AddNode("Div", ["k", "two"], ["q"]);              // integer division truncates: 3, -3
        g.AddNode("Mul", ["q", "two"], ["p"]);              // 6, -6
        g.AddNode("Sub", ["p", "two"], ["s"]);              // 4, -8
        g.AddNode("Cast", ["s"], ["f"], Of("to", 1L));      // to FLOAT
        g.AddNode("Constant", [], ["h"], Of("value_float", 0.5f));
        g.AddNode("Add", ["f", "h"], ["fa"]);                // 4.5, -7.5
        g.AddNode("Cast", ["fa"], ["ti"], Of("to", 7L));    // to INT64: truncation 4, -7
        g.AddConstant("m", ConstTensor.Float([2, 3], [1, 2, 3, 4, 5, 6]));
        g.AddNode("Transpose", ["m"], ["mt"]);
        g.AddConstant("shp", ConstTensor.Vector(2, 2));
        g.AddNode("ConstantOfShape", ["shp"], ["z"], Of("value", ConstTensor.Float([1], [3f])));
        g.AddNode("Neg", ["m"], ["nm"]);
        g.AddNode("Sqrt", ["z"], ["rz"]);
        g.Outputs.AddRange(["ti", "fa", "mt", "z", "nm", "rz"]);
        new ConstantFoldingPass().Run(g);
        Assert.Empty(g.Nodes);
        Assert.Equal(new long[] { 4, -7 }, Ints(g, "ti"));
        Assert.Equal([4.5f, -7.5f], g.Constants["fa"].Floats.ToArray());
        Assert.Equal([3, 2], g.Constants["mt"].Shape);
        Assert.Equal([1f, 4, 2, 5, 3, 6], g.Constants["mt"].Floats.ToArray());
        Assert.Equal([3f, 3, 3, 3], g.Constants["z"].Floats.ToArray());
        Assert.Equal(-6f, g.Constants["nm"].Floats[5]);
        Assert.Equal(MathF.Sqrt(3), g.Constants["rz"].Floats[0]);
    }

    [Fact]
    public void Gather_with_negative_index_and_matrix_data()
    {
        var g = Graph();
        g.AddConstant("d", ConstTensor.Float([3, 2], [1, 2, 3, 4, 5, 6]));
        g.AddConstant("i", ConstTensor.Int([2], [-1, 0]));
        g.AddNode("Gather", ["d", "i"], ["r"]);
        g.AddNode("Gather", ["d", "i"], ["c"], Of("axis", 1L));
        g.Outputs.AddRange(["r", "c"]);
        new ConstantFoldingPass().Run(g);
        Assert.Equal([5f, 6, 1, 2], g.Constants["r"].Floats.ToArray());
        Assert.Equal([3, 2], g.Constants["c"].Shape);
        Assert.Equal([2f, 1, 4, 3, 6, 5], g.Constants["c"].Floats.ToArray());
    }

    [Fact]
    public void Shape_start_end_from_opset_15()
    {
        var g = Graph(15);
        g.AddNode("Shape", ["x"], ["s"], Of("start", 1L), Of("end", -1L));
        g.Outputs.Add("s");
        new ConstantFoldingPass().Run(g);
        Assert.Equal(new long[] { 3 }, Ints(g, "s"));
    }

    [Fact]
    public void Absurd_constant_of_shape_is_refused()
    {
        var g = Graph();
        g.AddConstant("shp", ConstTensor.Vector(100000, 100000));
        g.AddNode("ConstantOfShape", ["shp"], ["z"]);
        g.Outputs.Add("z");
        var e = Assert.Throws<EmaException>(() => new ConstantFoldingPass().Run(g));
        Assert.Contains("more than", e.Message);
    }
}
