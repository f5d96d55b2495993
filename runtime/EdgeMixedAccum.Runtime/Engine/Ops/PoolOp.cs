using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
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
    // MaxPool 2x2 (or 2 in 1D), stride 2, every window inside the input: the vector path (RunMax2x2).
    private readonly bool _max2x2;

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
        _max2x2 = _max && node.Kernel.All(k => k == 2) && node.Strides.All(k => k == 2) && node.Pads.All(k => k == 0)
            && node.Dilations.All(k => k == 1) && _oh * (x.Length == 3 ? 1 : 2) <= _h && _ow * 2 <= _w;
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
        if (_max2x2)
        {
            for (int p = 0; p < planes; p++) RunMax2x2(x.Slice(p * inPlane, inPlane), output.Slice(p * outPlane, outPlane));
            return;
        }
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
    /// <summary>
    /// One plane of a 2x2 stride-2 MaxPool (1D: 2, stride 2) whose windows all lie inside the input, four output
    /// columns per Vector128 step. Same result as the general loop, bit for bit: the window is scanned in the same
    /// order with the same strict "v &gt; best" (the first of equal values, e.g. -0 before +0, wins) and any NaN gives
    /// NaN. Even and odd input columns are split by one shuffle each (<see cref="Even"/>, <see cref="Odd"/>).
    /// </summary>
    private void RunMax2x2(ReadOnlySpan<float> src, Span<float> dst)
    {
        int rowsPerWindow = _h == 1 && _oh == 1 && _rowCount[0] == 1 ? 1 : 2;
        var nan4 = Vector128.Create(float.NaN);
        for (int oh = 0; oh < _oh; oh++)
        {
            var r0 = src.Slice(oh * rowsPerWindow * _w, _w);
            var r1 = rowsPerWindow == 2 ? src.Slice((oh * 2 + 1) * _w, _w) : r0;
            var d = dst.Slice(oh * _ow, _ow);
            int ow = 0;
            if (Vector128.IsHardwareAccelerated && _ow >= 4)
            {
                // Unchecked loads, checked once here: a step at ow reads columns [2 ow, 2 ow + 8) of rows of _w and
                // writes [ow, ow + 4) of _ow, with ow <= _ow - 4 and 2 _ow <= _w (the constructor's condition).
                ref float p0 = ref MemoryMarshal.GetReference(r0), p1 = ref MemoryMarshal.GetReference(r1), pd = ref MemoryMarshal.GetReference(d);
                for (; ow < _ow; ow += 4)
                {
                    // The last step overlaps the one before when _ow is not a multiple of 4: those outputs are
                    // computed twice, the same way, instead of one at a time in the scalar loop.
                    ow = Math.Min(ow, _ow - 4);
                    nuint c = (nuint)(2 * ow);
                    Vector128<float> lo = Vector128.LoadUnsafe(ref p0, c), hi = Vector128.LoadUnsafe(ref p0, c + 4);
                    Vector128<float> a0 = Even(lo, hi), a1 = Odd(lo, hi);
                    var best = Pick(a0, a1);
                    var ordered = Vector128.Equals(a0, a0) & Vector128.Equals(a1, a1); // no NaN in the lane's window so far
                    if (rowsPerWindow == 2)
                    {
                        (lo, hi) = (Vector128.LoadUnsafe(ref p1, c), Vector128.LoadUnsafe(ref p1, c + 4));
                        Vector128<float> b0 = Even(lo, hi), b1 = Odd(lo, hi);
                        best = Pick(Pick(best, b0), b1);
                        ordered &= Vector128.Equals(b0, b0) & Vector128.Equals(b1, b1);
                    }
                    Vector128.ConditionalSelect(ordered, best, nan4).StoreUnsafe(ref pd, (nuint)ow);
                }
            }
            for (; ow < _ow; ow++)
            {
                float best = float.NegativeInfinity;
                bool nan = false;
                for (int r = 0; r < rowsPerWindow; r++)
                    for (int c = 0; c < 2; c++)
                    {
                        float v = (r == 0 ? r0 : r1)[2 * ow + c];
                        nan |= float.IsNaN(v);
                        if (v > best) best = v;
                    }
                d[ow] = nan ? float.NaN : best;
            }
        }
    }

    // The even and the odd columns of 8 consecutive floats (lo: the first 4): UZP1 / UZP2 on ARM64, SHUFPS on x64,
    // else the low and high halves of each 64-bit pair by Narrow (which a profile showed at a fifth of the pool's time
    // on x64, in a call of its own).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Even(Vector128<float> lo, Vector128<float> hi) =>
        AdvSimd.Arm64.IsSupported ? AdvSimd.Arm64.UnzipEven(lo, hi)
        : Sse.IsSupported ? Sse.Shuffle(lo, hi, 0b10_00_10_00)
        : Vector128.Narrow(lo.AsUInt64(), hi.AsUInt64()).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Odd(Vector128<float> lo, Vector128<float> hi) =>
        AdvSimd.Arm64.IsSupported ? AdvSimd.Arm64.UnzipOdd(lo, hi)
        : Sse.IsSupported ? Sse.Shuffle(lo, hi, 0b11_01_11_01)
        : Vector128.Narrow(lo.AsUInt64() >> 32, hi.AsUInt64() >> 32).AsSingle();

    /// <summary>v &gt; best ? v : best, lane by lane (a NaN v never wins; NaNs are tracked apart).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Pick(Vector128<float> best, Vector128<float> v) =>
        Vector128.ConditionalSelect(Vector128.GreaterThan(v, best), v, best);
}
