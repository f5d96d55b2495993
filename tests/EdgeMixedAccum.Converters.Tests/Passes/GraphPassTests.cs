using EdgeMixedAccum.Converters.Onnx;
using EdgeMixedAccum.Converters.Passes;
using EdgeMixedAccum.Graph;
using static EdgeMixedAccum.Converters.Passes.ImportAttribute;

namespace EdgeMixedAccum.Converters.Tests.Passes;

/// <summary>Each pass run alone on a hand-built import graph.</summary>
public class GraphPassTests
{
    [Fact]
    public void Shape_inference_pass_infers_every_runtime_value()
    {
        var g = new ImportGraph();
        g.AddInput("x", 2, 3, 8, 8);
        g.AddConstant("w", ConstTensor.Float([4, 3, 3, 3], new float[108]));
        g.AddNode("Conv", ["x", "w"], ["c"], Of("strides", new long[] { 2, 2 }), Of("auto_pad", "SAME_UPPER"));
        g.AddNode("MaxPool", ["c"], ["p"], Of("kernel_shape", new long[] { 2, 2 }), Of("strides", new long[] { 2, 2 }));
        g.AddNode("Flatten", ["p"], ["f"]);
        g.AddConstant("wd", ConstTensor.Float([16, 5], new float[80]));
        g.AddNode("MatMul", ["f", "wd"], ["y"]);
        g.Outputs.Add("y");
        new ShapeInferencePass().Run(g);
        Assert.Equal([2, 4, 4, 4], g.Shapes["c"]);
        Assert.Equal([2, 4, 2, 2], g.Shapes["p"]);
        Assert.Equal([2, 16], g.Shapes["f"]);
        Assert.Equal([2, 5], g.Shapes["y"]);
    }

    [Fact]
    public void Shape_inference_pass_reports_a_mismatch_naming_the_node()
    {
        var g = new ImportGraph();
        g.AddInput("x", 2, 3);
        g.AddConstant("w", ConstTensor.Float([4, 5], new float[20]));
        g.AddNode("MatMul", ["x", "w"], ["y"]).Name = "mm7";
        g.Outputs.Add("y");
        var e = Assert.Throws<EmaException>(() => new ShapeInferencePass().Run(g));
        Assert.Contains("mm7", e.Message);
    }

    [Fact]
    public void Symbolic_batch_pass_folds_at_two_batch_sizes_and_merges()
    {
        var g = new ImportGraph();
        g.AddInput("x", Shapes.Batch, 2, 3);
        g.AddNode("Shape", ["x"], ["s"]);
        g.AddConstant("i0", ConstTensor.Vector(0));
        g.AddNode("Gather", ["s", "i0"], ["b"]);
        g.AddConstant("m1", ConstTensor.Vector(-1));
        g.AddNode("Concat", ["b", "m1"], ["t"], Of("axis", 0L));
        g.AddNode("Reshape", ["x", "t"], ["y"]);
        g.Outputs.Add("y");
        new SymbolicBatchPass().Run(g);
        Assert.Equal(BatchMode.Symbolic, g.Batch);
        Assert.Equal("Reshape", Assert.Single(g.Nodes).OpType);
        Assert.Equal([Shapes.Batch, 6], g.Shapes["y"]);
        Assert.Contains("t", g.BatchDependent);
    }

    [Fact]
    public void Symbolic_batch_pass_refuses_a_batch_that_leaves_dim_0()
    {
        var g = new ImportGraph();
        g.AddInput("x", Shapes.Batch, 4);
        g.AddConstant("t", ConstTensor.Vector(2, -1));
        g.AddNode("Reshape", ["x", "t"], ["y"]);
        g.Outputs.Add("y");
        var e = Assert.Throws<EmaException>(() => new SymbolicBatchPass().Run(g));
        Assert.Contains("'y'", e.Message);
        Assert.Contains("batch", e.Message);
    }

    [Fact]
    public void Identity_removal_keeps_graph_output_names()
    {
        var g = new ImportGraph();
        g.AddInput("x", 1, 3);
        g.AddNode("Relu", ["x"], ["a"]);
        g.AddNode("Identity", ["a"], ["b"]);
        g.AddNode("Dropout", ["b"], ["c", "mask"]);
        g.AddNode("Identity", ["c"], ["y"]);
        g.Outputs.Add("y");
        new IdentityRemovalPass().Run(g);
        var relu = Assert.Single(g.Nodes);
        Assert.Equal("Relu", relu.OpType);
        Assert.Equal("y", relu.Output0);
        Assert.Equal(["y"], g.Outputs);
    }

    [Fact]
    public void Identity_removal_refuses_a_used_dropout_mask()
    {
        var g = new ImportGraph();
        g.AddInput("x", 1, 3);
        g.AddNode("Dropout", ["x"], ["c", "mask"]);
        g.Outputs.AddRange(["c", "mask"]);
        Assert.Contains("mask", Assert.Throws<EmaException>(() => new IdentityRemovalPass().Run(g)).Message);
    }

    [Fact]
    public void Linear_layer_pass_turns_gemm_into_dense_with_folded_alpha_beta()
    {
        var g = new ImportGraph();
        g.AddInput("x", 2, 3);
        g.AddConstant("B", ConstTensor.Float([3, 2], [1, 2, 3, 4, 5, 6]));
        g.AddConstant("C", ConstTensor.Float([2], [10, 20]));
        g.AddNode("Gemm", ["x", "B", "C"], ["y"], Of("alpha", 2f), Of("beta", 0.5f));
        g.Outputs.Add("y");
        new LinearLayerPass().Run(g);
        var n = Assert.Single(g.Nodes);
        Assert.Equal(ImportOps.Dense, n.OpType);
        Assert.Equal([2f, 6, 10, 4, 8, 12], g.Constants[n.Input(1)].Floats.ToArray()); // W = alpha * B^T
        Assert.Equal([5f, 10], g.Constants[n.Input(2)].Floats.ToArray());             // b = beta * C
    }

    [Fact]
    public void Linear_layer_pass_fuses_a_bias_add_only_for_a_sole_reader()
    {
        ImportGraph Make(bool extraReader)
        {
            var g = new ImportGraph();
            g.AddInput("x", 2, 3);
            g.AddConstant("W", ConstTensor.Float([3, 2], new float[6]));
            g.AddConstant("b", ConstTensor.Float([1, 2], [1, 2]));
            g.AddNode("MatMul", ["x", "W"], ["h"]);
            g.AddNode("Add", ["h", "b"], ["y"]);
            g.Outputs.Add("y");
            if (extraReader) g.Outputs.Add("h");
            return g;
        }
        var g1 = Make(false);
        new LinearLayerPass().Run(g1);
        var d = Assert.Single(g1.Nodes);
        Assert.Equal("y", d.Output0);
        Assert.Equal([1f, 2], g1.Constants[d.Input(2)].Floats.ToArray());
        var g2 = Make(true);
        new LinearLayerPass().Run(g2);
        Assert.Equal([ImportOps.Dense, "Add"], g2.Nodes.Select(n => n.OpType));
    }

    [Fact]
    public void Batchnorm_folding_pass_scales_rows_and_shifts_bias()
    {
        var g = new ImportGraph();
        g.AddInput("x", 1, 2);
        g.AddConstant("W", ConstTensor.Float([2, 2], [1, 2, 3, 4]));
        g.AddConstant("b", ConstTensor.Float([2], [1, -1]));
        g.AddNode(ImportOps.Dense, ["x", "W", "b"], ["h"]);
        g.AddConstant("s", ConstTensor.Float([2], [2, 3]));
        g.AddConstant("bb", ConstTensor.Float([2], [0.5f, -0.5f]));
        g.AddConstant("m", ConstTensor.Float([2], [1, 1]));
        g.AddConstant("v", ConstTensor.Float([2], [3, 8]));
        g.AddNode("BatchNormalization", ["h", "s", "bb", "m", "v"], ["y"], Of("epsilon", 1f));
        g.Outputs.Add("y");
        new BatchNormFoldingPass().Run(g);
        var d = Assert.Single(g.Nodes);
        Assert.Equal("y", d.Output0);
        // s / sqrt(v + eps) = 2/2 = 1 and 3/3 = 1.
        Assert.Equal([1f, 2, 3, 4], g.Constants[d.Input(1)].Floats.ToArray());
        Assert.Equal([0.5f, -2.5f], g.Constants[d.Input(2)].Floats.ToArray());
        Assert.DoesNotContain("s", g.Constants.Keys);
    }

    [Fact]
    public void Pattern_fusion_pass_finds_gelu_and_silu()
    {
        var g = new ImportGraph();
        g.AddInput("x", 1, 4);
        g.AddConstant("r2", ConstTensor.ScalarFloat(1.4142135f));
        g.AddConstant("one", ConstTensor.ScalarFloat(1f));
        g.AddConstant("half", ConstTensor.ScalarFloat(0.5f));
        g.AddNode("Div", ["x", "r2"], ["d"]);
        g.AddNode("Erf", ["d"], ["e"]);
        g.AddNode("Add", ["e", "one"], ["t"]);
        g.AddNode("Mul", ["x", "t"], ["m"]);
        g.AddNode("Mul", ["m", "half"], ["gelu"]);
        g.AddNode("Sigmoid", ["gelu"], ["s"]);
        g.AddNode("Mul", ["s", "gelu"], ["y"]);
        g.Outputs.Add("y");
        new PatternFusionPass().Run(g);
        Assert.Equal(["Gelu", ImportOps.Silu], g.Nodes.Select(n => n.OpType));
        Assert.Equal(["x"], g.Nodes[0].Inputs);
        Assert.Equal("gelu", g.Nodes[0].Output0);
        Assert.Equal("y", g.Nodes[1].Output0);
        Assert.Empty(g.Constants);
    }

    [Fact]
    public void Pattern_fusion_pass_leaves_a_near_miss_alone()
    {
        var g = new ImportGraph();
        g.AddInput("x", 1, 4);
        g.AddConstant("r2", ConstTensor.ScalarFloat(1.5f)); // not sqrt(2)
        g.AddConstant("one", ConstTensor.ScalarFloat(1f));
        g.AddConstant("half", ConstTensor.ScalarFloat(0.5f));
        g.AddNode("Div", ["x", "r2"], ["d"]);
        g.AddNode("Erf", ["d"], ["e"]);
        g.AddNode("Add", ["e", "one"], ["t"]);
        g.AddNode("Mul", ["x", "t"], ["m"]);
        g.AddNode("Mul", ["m", "half"], ["y"]);
        g.Outputs.Add("y");
        new PatternFusionPass().Run(g);
        Assert.Equal(5, g.Nodes.Count);
    }

    [Fact]
    public void Activation_fusion_pass_needs_a_sole_reader_that_is_no_graph_output()
    {
        ImportGraph Make(bool layerOutputIsGraphOutput)
        {
            var g = new ImportGraph();
            g.AddInput("x", 1, 2);
            g.AddConstant("W", ConstTensor.Float([2, 2], new float[4]));
            g.AddNode(ImportOps.Dense, ["x", "W"], ["h"]);
            g.AddConstant("lo", ConstTensor.ScalarFloat(-1f));
            g.AddConstant("hi", ConstTensor.ScalarFloat(1f));
            g.AddNode("Clip", ["h", "lo", "hi"], ["y"]);
            g.Outputs.Add("y");
            if (layerOutputIsGraphOutput) g.Outputs.Add("h");
            return g;
        }
        var g1 = Make(false);
        new ActivationFusionPass().Run(g1);
        var d = Assert.Single(g1.Nodes);
        Assert.Equal(Activation.Clip(-1, 1), d.Fused);
        Assert.Equal("y", d.Output0);
        Assert.DoesNotContain(g1.Constants.Keys, k => k is "lo" or "hi");
        var g2 = Make(true);
        new ActivationFusionPass().Run(g2);
        Assert.Equal(2, g2.Nodes.Count);
    }

    [Fact]
    public void Dead_node_removal_drops_unreachable_nodes_and_constants()
    {
        var g = new ImportGraph();
        g.AddInput("x", 1, 2);
        g.AddConstant("c", ConstTensor.ScalarFloat(1f));
        g.AddNode("Relu", ["x"], ["y"]);
        g.AddNode("Add", ["x", "c"], ["unused"]);
        g.AddNode("Sigmoid", ["unused"], ["unused2"]);
        g.Outputs.Add("y");
        g.Shapes["unused"] = [1, 2];
        new DeadNodeRemovalPass().Run(g);
        Assert.Equal("Relu", Assert.Single(g.Nodes).OpType);
        Assert.Empty(g.Constants);
        Assert.False(g.Shapes.ContainsKey("unused"));
    }

    [Fact]
    public void Passes_can_be_run_singly_from_a_read_model()
    {
        var ob = Onnx.ShapeAndBatchImportTests.FlattenPatternModel(13, "N", out _, out _, out _);
        var (g, info) = OnnxImporter.Read(ob.Bytes(), "m.onnx");
        Assert.Equal(11, g.Nodes.Count);
        var passes = OnnxImporter.Passes;
        Assert.Equal(["identity-removal", "symbolic-batch", "layernorm-fusion", "clamp", "pad-folding", "linear-layers", "batchnorm-folding", "pattern-fusion", "activation-fusion", "dead-node-removal"],
            passes.Select(p => p.Name));
        foreach (var p in passes) p.Run(g);
        Assert.Equal(["Conv", "Reshape", ImportOps.Dense], g.Nodes.Select(n => n.OpType));
        var r = OnnxImporter.Lower(g, info);
        Assert.Equal(3, r.Graph.Nodes.Count);
    }

    [Fact]
    public void Lowering_maps_reshape_targets_to_copy_the_batch()
    {
        var g = new ImportGraph();
        g.AddInput("x", Shapes.Batch, 2, 3);
        g.AddConstant("ax", ConstTensor.Vector(1));
        g.AddNode("Unsqueeze", ["x", "ax"], ["u"]);
        g.Shapes["u"] = [Shapes.Batch, 1, 2, 3];
        g.Outputs.Add("u");
        var mg = ModelGraphLowering.Lower(g);
        var rs = Assert.IsType<ReshapeNode>(Assert.Single(mg.Nodes));
        Assert.Equal([0, 1, 2, 3], rs.Target);
    }
}
