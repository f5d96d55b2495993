using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Runtime.Engine.Ops;

/// <summary>
/// Softmax along one axis (opset 13), as <c>ReferenceOps.Softmax</c>: the maximum is subtracted first so exp
/// never overflows, the exps are summed in order and each is divided by the sum. A slice holding +inf, or only
/// -inf, gives NaN like the reference. The last axis runs contiguously; other axes stride by the inner size.
/// The output may be exactly the input (every element is read before it is overwritten).
/// </summary>
public sealed class SoftmaxOp : FloatOp
{
    private readonly bool _batched;
    private readonly int _lead, _outerRest, _len, _inner;

    public SoftmaxOp(SoftmaxNode node, IReadOnlyList<int[]> inputShapes, int[] outputShape)
        : base(node, inputShapes, outputShape)
    {
        var x = inputShapes[0];
        int axis = node.Axis < 0 ? node.Axis + x.Length : node.Axis;
        // Shape inference keeps the axis off a symbolic batch, so everything but dim 0 is static.
        _batched = x[0] == Shapes.Batch;
        _lead = axis == 0 ? 1 : x[0];
        _outerRest = axis == 0 ? 1 : (int)Product(x, 1, axis, 0);
        _len = x[axis];
        _inner = (int)Product(x, axis + 1, x.Length, 0);
    }

    public override bool AllowsInPlace(int input) => true;

    public override void Run(ReadOnlySpan<ReadOnlyMemory<float>> inputs, Span<float> output, int batch)
    {
        Check(inputs, output, batch);
        ReadOnlySpan<float> x = inputs[0].Span;
        int outer = (_batched ? batch : _lead) * _outerRest;
        int len = _len, inner = _inner, block = len * inner;
        if (block == 0) return;
        for (int o = 0; o < outer; o++)
        {
            ReadOnlySpan<float> src = x.Slice(o * block, block);
            Span<float> dst = output.Slice(o * block, block);
            if (inner == 1) Contiguous(src, dst);
            else
                for (int i = 0; i < inner; i++) Strided(src, dst, i, len, inner);
        }
    }

    private static void Contiguous(ReadOnlySpan<float> x, Span<float> y)
    {
        float max = float.NegativeInfinity;
        for (int j = 0; j < x.Length; j++) max = MathF.Max(max, x[j]);
        float sum = 0f;
        for (int j = 0; j < x.Length; j++) sum += y[j] = MathF.Exp(x[j] - max);
        for (int j = 0; j < y.Length; j++) y[j] /= sum;
    }

    private static void Strided(ReadOnlySpan<float> x, Span<float> y, int start, int len, int inner)
    {
        float max = float.NegativeInfinity;
        for (int j = 0, k = start; j < len; j++, k += inner) max = MathF.Max(max, x[k]);
        float sum = 0f;
        for (int j = 0, k = start; j < len; j++, k += inner) sum += y[k] = MathF.Exp(x[k] - max);
        for (int j = 0, k = start; j < len; j++, k += inner) y[k] /= sum;
    }
}
