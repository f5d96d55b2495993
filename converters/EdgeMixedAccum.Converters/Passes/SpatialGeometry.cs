using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Converters.Passes;

/// <summary>
/// Resolved geometry of a Conv or pool node: explicit pads (ONNX order: all begins, then all ends) from
/// pads or auto_pad, strides, dilations, and the output spatial dims.
/// </summary>
public sealed record SpatialGeometry(int[] Kernel, int[] Strides, int[] Pads, int[] Dilations, bool CeilMode, int[] OutDims)
{
    /// <summary>
    /// Reads kernel_shape, strides, pads, dilations, auto_pad (NOTSET, VALID, SAME_UPPER, SAME_LOWER) and
    /// ceil_mode from <paramref name="n"/> against static spatial input dims.
    /// </summary>
    /// <param name="weightKernel">The kernel dims from a Conv weight, or null for pools (kernel_shape required).</param>
    public static SpatialGeometry Resolve(ImportNode n, ReadOnlySpan<int> inDims, int[]? weightKernel)
    {
        int sp = inDims.Length;
        if (sp is not (1 or 2)) throw n.Fail($"only 1D and 2D spatial inputs are supported, got {sp} spatial dims");
        foreach (int d in inDims)
            if (d < 0) throw n.Fail($"spatial dims {Shapes.Format(inDims)} must be static");
        var kernel = n.IntArray("kernel_shape");
        if (weightKernel is not null)
        {
            if (kernel is not null && !kernel.AsSpan().SequenceEqual(weightKernel))
                throw n.Fail($"kernel_shape {Shapes.Format(kernel)} differs from the weight's {Shapes.Format(weightKernel)}");
            kernel = weightKernel;
        }
        if (kernel is null) throw n.Fail("attribute 'kernel_shape' is required");
        if (kernel.Length != sp) throw n.Fail($"kernel_shape {Shapes.Format(kernel)} does not have {sp} entries");
        var strides = n.IntArray("strides") ?? Ones(sp);
        var dilations = n.IntArray("dilations") ?? Ones(sp);
        if (strides.Length != sp) throw n.Fail($"strides {Shapes.Format(strides)} do not have {sp} entries");
        if (dilations.Length != sp) throw n.Fail($"dilations {Shapes.Format(dilations)} do not have {sp} entries");
        for (int i = 0; i < sp; i++)
            if (kernel[i] < 1 || strides[i] < 1 || dilations[i] < 1)
                throw n.Fail($"kernel {Shapes.Format(kernel)}, strides {Shapes.Format(strides)} and dilations {Shapes.Format(dilations)} must be >= 1");
        bool ceil = n.Int("ceil_mode", 0) != 0;
        string autoPad = n.String("auto_pad", "NOTSET");
        int[] pads;
        switch (autoPad)
        {
            case "NOTSET" or "":
                pads = n.IntArray("pads") ?? new int[2 * sp];
                if (pads.Length != 2 * sp) throw n.Fail($"pads {Shapes.Format(pads)} do not have {2 * sp} entries");
                foreach (int p in pads)
                    if (p < 0) throw n.Fail($"pads {Shapes.Format(pads)} must be >= 0");
                break;
            case "VALID":
                pads = new int[2 * sp];
                break;
            case "SAME_UPPER" or "SAME_LOWER":
                pads = new int[2 * sp];
                for (int i = 0; i < sp; i++)
                {
                    long outDim = ((long)inDims[i] + strides[i] - 1) / strides[i];
                    long span = (long)dilations[i] * (kernel[i] - 1) + 1;
                    long total = Math.Max(0, (outDim - 1) * strides[i] + span - inDims[i]);
                    long small = total / 2, big = total - small;
                    pads[i] = checked((int)(autoPad == "SAME_UPPER" ? small : big));
                    pads[i + sp] = checked((int)(autoPad == "SAME_UPPER" ? big : small));
                }
                break;
            default:
                throw n.Fail($"auto_pad '{autoPad}' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER");
        }
        var outDims = new int[sp];
        for (int i = 0; i < sp; i++)
        {
            long o = ConvNode.OutputDim(inDims[i], kernel[i], strides[i], pads[i], pads[i + sp], dilations[i], ceil);
            if (o < 1)
                throw n.Fail($"kernel extent {(long)dilations[i] * (kernel[i] - 1) + 1} exceeds the padded input {(long)inDims[i] + pads[i] + pads[i + sp]} in spatial dim {i}");
            outDims[i] = checked((int)o);
        }
        return new SpatialGeometry(kernel, strides, pads, dilations, ceil, outDims);
    }

    private static int[] Ones(int n) => Enumerable.Repeat(1, n).ToArray();
}
