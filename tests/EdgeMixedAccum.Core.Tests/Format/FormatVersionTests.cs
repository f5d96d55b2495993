using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Tests;

namespace EdgeMixedAccum.Tests.Format;

/// <summary>ema-format.md, "Versions": LayerNorm and Transpose (op codes 12, 13) came with 1.1, activation code 8
/// (LeakyReLU then clamp) with 1.2. A writer writes the newer minor only for graphs that use them, so older models keep
/// their bytes; files written as 1.0 still load.</summary>
public class FormatVersionTests
{
    private static EmaModel Model(int minor)
    {
        var b = new GraphBuilder();
        int x = b.Input("x", Shapes.Batch, 2, 3);
        int y = minor switch
        {
            0 => b.Act(x, Activation.Relu),
            1 => b.LayerNorm(b.Transpose(x, [0, 2, 1]), TensorData.FromFloat32("s", [2], [1f, 2f]), TensorData.FromFloat32("b", [2], [0f, 1f])),
            _ => b.Act(x, Activation.LeakyReluClip(0.1f, -2f, 6f)),
        };
        b.Output(y);
        return new EmaModel(new ModelMetadata { ModelName = "v" }, b.Graph);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void MinorVersionIsTheOneTheGraphNeeds(int minor)
    {
        var bytes = EmaWriter.ToBytes(Model(minor));
        Assert.Equal(1, BitConverter.ToUInt16(bytes, 8));
        Assert.Equal(minor, BitConverter.ToUInt16(bytes, 10));
        var read = EmaReader.Read(bytes);
        Assert.Equal($"1.{minor}", read.FormatVersion);
        ModelAssert.Equivalent(Model(minor), read);
    }

    [Fact]
    public void AFileWrittenAs10StillLoads()
    {
        // Committed before format 1.1 existed (tests/fixtures/fmnist-mlp-tanh.ema, converter fixture).
        var m = EmaReader.Read(Path.Combine(TestPaths.Fixtures, "fmnist-mlp-tanh.ema"));
        Assert.Equal("1.0", m.FormatVersion);
        Assert.NotEmpty(m.Graph.Nodes);
    }
}
