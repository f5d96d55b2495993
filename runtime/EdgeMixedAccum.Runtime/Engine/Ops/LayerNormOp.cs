using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Runtime.Engine.Ops;

/// <summary>
/// Layer normalisation over the trailing dims (<see cref="LayerNormNode"/>), as <c>ReferenceOps.LayerNorm</c>: per row,
/// the mean, then the biased variance of the deviations (two passes; the sums in fp64, so a row of thousands of
/// elements with a large mean loses nothing to cancellation), y = (x - mean) * (1 / sqrt(var + eps)) * scale + bias
/// in fp32. Not a layer: it has no inner products and runs in fp32 in every mode (docs/layernorm.md).
/// Allocation-free; the output may be exactly the input (each row is read before it is written).
/// </summary>
public sealed class LayerNormOp : FloatOp
{
    private readonly int _rowsPerItem, _len;
    private readonly bool _batched, _hasBias;
    private readonly double _eps;

    public LayerNormOp(LayerNormNode node, IReadOnlyList<int[]> inputShapes, int[] outputShape)
        : base(node, inputShapes, outputShape)
    {
        var x = inputShapes[0];
        int axis = node.FirstAxis(x.Length);
        // Shape inference keeps axis >= 1, so the normalised dims are static.
        _batched = x[0] == Shapes.Batch;
        _len = (int)Product(x, axis, x.Length, 0);
        _rowsPerItem = (int)Product(x, _batched ? 1 : 0, axis, 0);
        _hasBias = inputShapes.Count > 2;
        _eps = node.Epsilon;
    }

    public override bool AllowsInPlace(int input) => input == 0;

    public override void Run(ReadOnlySpan<ReadOnlyMemory<float>> inputs, Span<float> output, int batch)
    {
        Check(inputs, output, batch);
        ReadOnlySpan<float> x = inputs[0].Span;
        ReadOnlySpan<float> scale = inputs[1].Span[.._len];
        ReadOnlySpan<float> bias = _hasBias ? inputs[2].Span[.._len] : default;
        int rows = (_batched ? batch : 1) * _rowsPerItem, n = _len;
        if (n == 0) return;
        for (int r = 0; r < rows; r++)
        {
            var src = x.Slice(r * n, n);
            var dst = output.Slice(r * n, n);
            double sum = 0;
            for (int j = 0; j < src.Length; j++) sum += src[j];
            double mean = sum / n;
            double sq = 0;
            for (int j = 0; j < src.Length; j++) { double d = src[j] - mean; sq += d * d; }
            float m = (float)mean;
            float inv = (float)(1.0 / Math.Sqrt(sq / n + _eps));
            if (_hasBias)
                for (int j = 0; j < dst.Length; j++) dst[j] = (src[j] - m) * inv * scale[j] + bias[j];
            else
                for (int j = 0; j < dst.Length; j++) dst[j] = (src[j] - m) * inv * scale[j];
        }
    }
}
