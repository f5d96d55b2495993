using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Runtime.Engine.Ops;

/// <summary>
/// Concatenation along one axis, as <c>ReferenceOps.Concat</c>: for each index of the dims before the axis the
/// inputs' contiguous chunks are copied in input order. Pure copies, so the result is exact.
/// </summary>
public sealed class ConcatOp : FloatOp
{
    private readonly bool _batched;
    private readonly int _lead, _outerRest, _outChunk;
    private readonly int[] _chunks;

    public ConcatOp(ConcatNode node, IReadOnlyList<int[]> inputShapes, int[] outputShape)
        : base(node, inputShapes, outputShape)
    {
        int axis = node.Axis < 0 ? node.Axis + outputShape.Length : node.Axis;
        // Shape inference forbids the axis on a symbolic batch; off the axis all inputs share dim 0.
        _batched = outputShape[0] == Shapes.Batch;
        _lead = axis == 0 ? 1 : outputShape[0];
        _outerRest = axis == 0 ? 1 : (int)Product(outputShape, 1, axis, 0);
        int inner = (int)Product(outputShape, axis + 1, outputShape.Length, 0);
        _chunks = new int[inputShapes.Count];
        for (int k = 0; k < _chunks.Length; k++) _chunks[k] = inputShapes[k][axis] * inner;
        _outChunk = outputShape[axis] * inner;
    }

    public override void Run(ReadOnlySpan<ReadOnlyMemory<float>> inputs, Span<float> output, int batch)
    {
        Check(inputs, output, batch);
        int outer = (_batched ? batch : _lead) * _outerRest;
        int[] chunks = _chunks;
        for (int k = 0, pos = 0; k < chunks.Length; pos += chunks[k], k++)
        {
            // Input-major: each input's span is fetched once, then its chunk goes to every outer index.
            ReadOnlySpan<float> x = inputs[k].Span;
            int chunk = chunks[k];
            if (chunk == 0) continue;
            for (int o = 0; o < outer; o++)
                x.Slice(o * chunk, chunk).CopyTo(output.Slice(o * _outChunk + pos, chunk));
        }
    }
}
