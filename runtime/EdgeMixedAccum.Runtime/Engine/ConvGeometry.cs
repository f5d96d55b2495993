using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Runtime.Engine;

/// <summary>
/// One sample's Conv geometry (1D seen as 2D of height 1) and the im2col gather: the patch of output
/// position (oh, ow) in group g is laid out [c, kh, kw] like a weight row, so every output element is one
/// inner product of a weight row with a gathered patch. Padding reads as zero in every element type.
/// </summary>
public readonly record struct ConvGeometry(int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW,
    int DH, int DW, int OH, int OW, int Groups)
{
    public int CG => C / Groups;
    public int K => CG * KH * KW;
    public int Positions => OH * OW;
    public int InElements => C * H * W;

    /// <summary>From a node and its declared input/output sample shapes ([C, W] or [C, H, W], batch dim removed).</summary>
    public static ConvGeometry Of(ConvNode n, ReadOnlySpan<int> x, ReadOnlySpan<int> y, ReadOnlySpan<int> kernel)
    {
        if (x.Length == 2)
            return new(x[0], 1, x[1], 1, kernel[0], 1, n.Strides[0], 0, n.Pads[0], 1, n.Dilations[0], 1, y[1], n.Groups);
        if (x.Length == 3)
            return new(x[0], x[1], x[2], kernel[0], kernel[1], n.Strides[0], n.Strides[1], n.Pads[0], n.Pads[1],
                n.Dilations[0], n.Dilations[1], y[1], y[2], n.Groups);
        throw new EmaException($"{n}: the engine runs 1D and 2D convolutions, not {x.Length - 1}D");
    }

    /// <summary>patch[(c*KH + kh)*KW + kw] = x[g*CG + c, ih, iw] or zero outside the input.
    /// Reads only x[0, InElements), writes only patch[0, K).</summary>
    public void Gather<T>(ReadOnlySpan<T> x, Span<T> patch, int g, int oh, int ow) where T : unmanaged
    {
        x = x[..InElements];
        patch = patch[..K];
        int idx = 0, c0 = g * CG;
        for (int c = 0; c < CG; c++)
        {
            int plane = (c0 + c) * H;
            for (int kh = 0; kh < KH; kh++)
            {
                int ih = oh * SH - PH + kh * DH;
                if ((uint)ih >= (uint)H)
                {
                    patch.Slice(idx, KW).Clear();
                    idx += KW;
                    continue;
                }
                int rowBase = (plane + ih) * W;
                int iw0 = ow * SW - PW, iwLast = iw0 + (KW - 1) * DW;
                if (iw0 >= 0 && iwLast < W)
                {
                    // The whole kernel row is inside the input (the common case): no per-element test. The span
                    // slices check the bounds once.
                    var src = x.Slice(rowBase + iw0, (KW - 1) * DW + 1);
                    var dst = patch.Slice(idx, KW);
                    for (int kw = 0; kw < dst.Length; kw++) dst[kw] = src[kw * DW];
                    idx += KW;
                    continue;
                }
                for (int kw = 0; kw < KW; kw++)
                {
                    int iw = iw0 + kw * DW;
                    patch[idx++] = (uint)iw < (uint)W ? x[rowBase + iw] : default;
                }
            }
        }
    }
}
