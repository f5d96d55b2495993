using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Runtime.Engine.Ops;

/// <summary>
/// ONNX Transpose (<see cref="TransposeNode"/>), per sample when dim 0 is the symbolic batch (which the node keeps in
/// place): an odometer over the output walks the input with precomputed strides. Pure data movement, exact.
/// Used where tf2onnx leaves NHWC &lt;-&gt; NCHW transposes at a graph's start and end. Allocation-free.
/// </summary>
public sealed class TransposeOp : FloatOp
{
    private readonly bool _batched;
    private readonly int _sample;
    private readonly int[] _outDims, _srcStride; // per output dim of the sample: its size and its stride in the input

    public TransposeOp(TransposeNode node, IReadOnlyList<int[]> inputShapes, int[] outputShape)
        : base(node, inputShapes, outputShape)
    {
        var x = inputShapes[0];
        _batched = x.Length > 0 && x[0] == Shapes.Batch;
        int skip = _batched ? 1 : 0, rank = x.Length - skip;
        var inStride = new int[rank];
        for (int d = rank - 1, st = 1; d >= 0; st *= x[skip + d], d--) inStride[d] = st;
        _outDims = new int[rank];
        _srcStride = new int[rank];
        for (int k = 0; k < rank; k++)
        {
            _outDims[k] = outputShape[skip + k];
            _srcStride[k] = inStride[node.Perm[skip + k] - skip];
        }
        _sample = (int)Product(x, skip, x.Length, 0);
    }

    public override void Run(ReadOnlySpan<ReadOnlyMemory<float>> inputs, Span<float> output, int batch)
    {
        Check(inputs, output, batch);
        ReadOnlySpan<float> x = inputs[0].Span;
        int items = _batched ? batch : 1, n = _sample, rank = _outDims.Length;
        if (n == 0) return;
        Span<int> idx = stackalloc int[Math.Max(rank, 1)];
        for (int b = 0; b < items; b++)
        {
            var src = x.Slice(b * n, n);
            var dst = output.Slice(b * n, n);
            idx.Clear();
            int at = 0;
            // The last output dim moves fastest; carry into the earlier ones like an odometer.
            for (int e = 0; e < n; e++)
            {
                dst[e] = src[at];
                for (int k = rank - 1; k >= 0; k--)
                {
                    at += _srcStride[k];
                    if (++idx[k] < _outDims[k]) break;
                    at -= _srcStride[k] * _outDims[k];
                    idx[k] = 0;
                }
            }
        }
    }
}
