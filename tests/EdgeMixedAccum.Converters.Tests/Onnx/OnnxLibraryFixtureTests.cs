using EdgeMixedAccum.Converters.Onnx;
using EdgeMixedAccum.Converters.Passes;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Npy;
using EdgeMixedAccum.Tests;

namespace EdgeMixedAccum.Converters.Tests.Onnx;

/// <summary>
/// Models serialized by the real onnx library (Onnx/Data/make_onnx_fixtures.py; inputs and expected outputs
/// computed by numpy in fp64), so the importer is checked against files it did not write itself.
/// </summary>
public class OnnxLibraryFixtureTests
{
    private static string Data(string file) => Path.Combine(TestPaths.Root, "tests", "EdgeMixedAccum.Converters.Tests", "Onnx", "Data", file);

    private static OnnxImportResult ImportAndCheck(string stem, double tol = 1e-5)
    {
        var r = OnnxImporter.Import(Data(stem + ".onnx"));
        var x = NpyFile.Read(Data(stem + "_x.npy"));
        var y = NpyFile.Read(Data(stem + "_y.npy"));
        var (got, shape) = T.Run(r.Graph, x.ToFloat32(), x.Shape);
        Assert.Equal(y.Shape, shape);
        T.Close(y.ToFloat32().Select(v => (double)v).ToArray(), got, tol);
        return r;
    }

    [Theory]
    [InlineData(11)]
    [InlineData(13)]
    [InlineData(17)]
    public void Mlp_with_pytorch_flatten_pattern(int opset)
    {
        var r = ImportAndCheck($"mlp_flatten_opset{opset}");
        Assert.Equal(opset, r.Model.Opset);
        Assert.Equal("pytorch", r.Model.ProducerName);
        Assert.Equal("main_graph", r.Model.GraphName);
        Assert.Equal(BatchMode.Symbolic, r.Batch);
        Assert.Equal([Shapes.Batch, 1, 4, 4], r.Inputs[0].Shape);
        Assert.Equal(new OnnxTensorInfo("output", [Shapes.Batch, 3]).ToString(), r.Outputs[0].ToString());
        Assert.Collection(r.Graph.Nodes,
            n => Assert.IsType<ReshapeNode>(n),
            n => Assert.Equal(Activation.Relu, Assert.IsType<DenseNode>(n).Activation),
            n => Assert.IsType<DenseNode>(n),
            n => Assert.IsType<SoftmaxNode>(n));
    }

    [Fact]
    public void Cnn_with_batchnorm_and_erf_gelu()
    {
        var r = ImportAndCheck("cnn_bn_gelu_opset13");
        var conv = Assert.IsType<ConvNode>(r.Graph.Nodes[0]);
        Assert.Equal(Activation.Gelu, conv.Activation);
        Assert.Equal(5, r.Graph.Nodes.Count); // conv, maxpool, gap, flatten, dense
    }

    [Fact]
    public void Fixed_batch_export_with_silu_and_relu6()
    {
        var r = ImportAndCheck("fixed_batch_silu_opset17");
        Assert.Equal(BatchMode.MadeSymbolic, r.Batch);
        Assert.Equal("tf2onnx", r.Model.ProducerName);
        Assert.Collection(r.Graph.Nodes,
            n => Assert.Equal(Activation.Silu, Assert.IsType<DenseNode>(n).Activation),
            n => Assert.Equal(Activation.Relu6, Assert.IsType<ActivationNode>(n).Activation));
    }
}
