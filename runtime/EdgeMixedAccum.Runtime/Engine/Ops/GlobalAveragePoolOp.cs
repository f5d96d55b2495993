using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Runtime.Engine.Ops;

/// <summary>
/// Mean over all spatial dims, [N, C, ...] to [N, C, 1, ...], matching <c>ReferenceOps.GlobalAveragePool</c>:
/// each plane is summed in order from zero and divided by its size once (an empty plane gives 0).
/// </summary>
public sealed class GlobalAveragePoolOp : FloatOp
{
    private readonly bool _batched;
    private readonly int _n, _c, _spatial;

    public GlobalAveragePoolOp(GlobalAveragePoolNode node, IReadOnlyList<int[]> inputShapes, int[] outputShape)
        : base(node, inputShapes, outputShape)
    {
        var x = inputShapes[0];
        _batched = x[0] == Shapes.Batch;
        _n = x[0]; _c = x[1];
        _spatial = (int)Product(x, 2, x.Length, 0);
    }

    public override void Run(ReadOnlySpan<ReadOnlyMemory<float>> inputs, Span<float> output, int batch)
    {
        Check(inputs, output, batch);
        ReadOnlySpan<float> x = inputs[0].Span;
        int planes = (_batched ? batch : _n) * _c;
        for (int p = 0; p < planes; p++)
        {
            ReadOnlySpan<float> plane = x.Slice(p * _spatial, _spatial);
            float sum = 0f;
            for (int j = 0; j < plane.Length; j++) sum += plane[j];
            output[p] = _spatial == 0 ? 0f : sum / _spatial;
        }
    }
}
