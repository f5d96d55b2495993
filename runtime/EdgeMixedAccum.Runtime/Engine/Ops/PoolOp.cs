using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Runtime.Engine.Ops;

/// <summary>
/// ONNX MaxPool / AveragePool over [N, C, L] or [N, C, H, W] (1D runs as 2D with height 1), matching
/// <c>ReferenceOps.Pool</c>: padding never wins a max and any NaN in a window gives NaN; AveragePool sums the
/// valid elements in row-major window order and divides by their count, or with count_include_pad by the
/// window clipped to the padded input. The window bounds per output row and column are precomputed, so
/// the inner loops never test for padding.
/// </summary>
public sealed class PoolOp : FloatOp
{
    private readonly bool _max;
    private readonly bool _batched;
    private readonly int _n, _c, _h, _w, _oh, _ow, _dh, _dw;
    // Per output row: first valid input row, number of valid rows, and the clipped padded extent
    // (count_include_pad). The same per output column.
    private readonly int[] _rowStart, _rowCount, _rowPadded;
    private readonly int[] _colStart, _colCount, _colPadded;
    private readonly bool _includePad;

    public PoolOp(PoolNode node, IReadOnlyList<int[]> inputShapes, int[] outputShape)
        : base(node, inputShapes, outputShape)
    {
        var x = inputShapes[0];
        _max = node.IsMax;
        _includePad = node.CountIncludePad;
        _batched = x[0] == Shapes.Batch;
        _n = x[0]; _c = x[1];
        if (x.Length == 3)
        {
            _h = 1; _w = x[2]; _oh = 1; _ow = outputShape[2]; _dh = 1; _dw = node.Dilations[0];
            (_rowStart, _rowCount, _rowPadded) = Axis(1, 1, 1, 1, 0, 0, 1);
            (_colStart, _colCount, _colPadded) = Axis(_w, _ow, node.Kernel[0], node.Strides[0], node.Pads[0], node.Pads[1], _dw);
        }
        else
        {
            _h = x[2]; _w = x[3]; _oh = outputShape[2]; _ow = outputShape[3]; _dh = node.Dilations[0]; _dw = node.Dilations[1];
            (_rowStart, _rowCount, _rowPadded) = Axis(_h, _oh, node.Kernel[0], node.Strides[0], node.Pads[0], node.Pads[2], _dh);
            (_colStart, _colCount, _colPadded) = Axis(_w, _ow, node.Kernel[1], node.Strides[1], node.Pads[1], node.Pads[3], _dw);
        }
    }

    /// <summary>Window bounds along one spatial dim: the taps o*s - pb + k*d for k &lt; kernel that land in
    /// [0, len) are contiguous in k, so a first index and a count describe them.</summary>
    private static (int[] Start, int[] Count, int[] Padded) Axis(int len, int outLen, int kernel, int stride, int padBegin, int padEnd, int dil)
    {
        var start = new int[outLen];
        var count = new int[outLen];
        var padded = new int[outLen];
        for (int o = 0; o < outLen; o++)
        {
            long s0 = (long)o * stride - padBegin;
            int first = -1, n = 0;
            for (int k = 0; k < kernel; k++)
            {
                long i = s0 + (long)k * dil;
                if (i < 0 || i >= len) continue;
                if (first < 0) first = (int)i;
                n++;
            }
            start[o] = first < 0 ? 0 : first;
            count[o] = n;
            // As the reference: the window end clipped to the end of the padded input.
            long e = Math.Min(s0 + (long)(kernel - 1) * dil + 1, (long)len + padEnd);
            padded[o] = (int)(e - s0);
        }
        return (start, count, padded);
    }

    public override void Run(ReadOnlySpan<ReadOnlyMemory<float>> inputs, Span<float> output, int batch)
    {
        Check(inputs, output, batch);
        ReadOnlySpan<float> x = inputs[0].Span;
        int planes = (_batched ? batch : _n) * _c;
        int inPlane = _h * _w, outPlane = _oh * _ow;
        int rowStep = _dh * _w;
        for (int p = 0; p < planes; p++)
        {
            ReadOnlySpan<float> src = x.Slice(p * inPlane, inPlane);
            Span<float> dst = output.Slice(p * outPlane, outPlane);
            int o = 0;
            for (int oh = 0; oh < _oh; oh++)
            {
                int rows = _rowCount[oh], rowBase = _rowStart[oh] * _w;
                for (int ow = 0; ow < _ow; ow++, o++)
                {
                    int cols = _colCount[ow], colStart = _colStart[ow];
                    if (_max)
                    {
                        float best = float.NegativeInfinity;
                        bool nan = false;
                        for (int r = 0, i0 = rowBase + colStart; r < rows; r++, i0 += rowStep)
                            for (int c = 0, i = i0; c < cols; c++, i += _dw)
                            {
                                float v = src[i];
                                nan |= float.IsNaN(v);
                                // Strict > as the reference: the first of equal values (e.g. -0 before +0) wins.
                                if (v > best) best = v;
                            }
                        dst[o] = nan ? float.NaN : best;
                    }
                    else
                    {
                        float sum = 0f;
                        for (int r = 0, i0 = rowBase + colStart; r < rows; r++, i0 += rowStep)
                            for (int c = 0, i = i0; c < cols; c++, i += _dw)
                                sum += src[i];
                        int count = _includePad ? _rowPadded[oh] * _colPadded[ow] : rows * cols;
                        dst[o] = count == 0 ? 0f : sum / count;
                    }
                }
            }
        }
    }
}
