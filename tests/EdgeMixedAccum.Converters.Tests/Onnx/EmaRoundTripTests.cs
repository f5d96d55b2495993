using EdgeMixedAccum.Format;

namespace EdgeMixedAccum.Converters.Tests.Onnx;

public class EmaRoundTripTests
{
    [Theory]
    [InlineData(11)]
    [InlineData(17)]
    public void Imported_graph_writes_to_ema_and_reads_back_identically(int opset)
    {
        var r = ShapeAndBatchImportTests.FlattenPatternModel(opset, "N", out _, out _, out _).Import();
        var bytes = EmaWriter.ToBytes(new EmaModel(new ModelMetadata { ModelName = r.Model.GraphName }, r.Graph));
        var back = EmaReader.Read(bytes, "roundtrip.ema");
        var x = T.Rand(3 * 32, 11);
        T.Close(T.Run(r.Graph, x, [3, 2, 4, 4]).Y, T.Run(back.Graph, x, [3, 2, 4, 4]).Y, 0);
    }
}
