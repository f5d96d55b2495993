namespace EdgeMixedAccum.Converters.Passes;

/// <summary>
/// Folds a zero constant Pad into the AveragePool or Conv that alone reads it. PyTorch exports
/// avg_pool with count_include_pad=True (its default) as Pad + AveragePool, so without this pass
/// every such model would fail to convert.
/// <list type="bullet">
/// <item>Conv: zero padding before a conv is the conv's own padding: pads add up.</item>
/// <item>AveragePool without pads of its own: averaging over the padded tensor is AveragePool with the pads and
/// count_include_pad=1, whose divisor is the window clipped to the padded extent (ONNX Runtime's rule). In ceil
/// mode a last window that starts inside the right padding exists only in the padded form; the fold is then
/// refused (the output shapes would differ).</item>
/// </list>
/// MaxPool is not folded (padded zeros could win a max; the pool's own padding never does).
/// Runs after constant folding (the pads are a constant input from opset 11).
/// </summary>
public sealed class PadFoldingPass : IImportPass
{
    public string Name => "pad-folding";

    public void Run(ImportGraph g)
    {
        foreach (var pad in g.Nodes.Where(n => n.OpType == "Pad").ToList())
        {
            var pads = Pads(g, pad, out int rank);
            int sp = rank - 2;
            var consumers = g.Consumers(pad.Output0);
            if (consumers.Count != 1 || g.IsOutput(pad.Output0) || consumers[0].Index != 0)
                throw pad.Fail("a Pad is supported only when its output feeds one AveragePool or Conv");
            var next = consumers[0].Node;
            var inShape = g.TryShape(pad.Input(0)) ?? throw pad.Fail("input shape unknown");
            // ONNX Pad order: all begins (dims 0..r-1), then all ends; the spatial part becomes pool/conv pads.
            var spatial = new int[2 * sp];
            for (int i = 0; i < sp; i++) { spatial[i] = (int)pads[2 + i]; spatial[sp + i] = (int)pads[rank + 2 + i]; }
            if (next.String("auto_pad", "NOTSET") is not ("NOTSET" or ""))
                throw pad.Fail($"cannot fold into {next.Where} with auto_pad");
            var own = next.IntArray("pads") ?? new int[2 * sp];
            switch (next.OpType)
            {
                case "Conv":
                    next.Attributes["pads"] = ImportAttribute.Of("pads", own.Zip(spatial, (a, b) => (long)a + b).ToArray());
                    break;
                case "AveragePool":
                    if (own.Any(p => p != 0)) throw pad.Fail($"cannot fold into {next.Where}, which pads too");
                    var before = g.TryShape(next.Output0);
                    next.Attributes["pads"] = ImportAttribute.Of("pads", spatial.Select(p => (long)p).ToArray());
                    next.Attributes["count_include_pad"] = ImportAttribute.Of("count_include_pad", 1L);
                    var geo = SpatialGeometry.Resolve(next, inShape.AsSpan(2), null);
                    if (before is not null && !before.AsSpan(2).SequenceEqual(geo.OutDims))
                        throw pad.Fail($"folding into {next.Where} would change its output (a ceil-mode window starting in the padding)");
                    break;
                default:
                    throw pad.Fail($"a Pad is supported only before AveragePool or Conv, not {next.Where}");
            }
            next.Inputs[0] = pad.Input(0);
            g.Nodes.Remove(pad);
            g.Shapes.Remove(pad.Output0);
            foreach (var i in pad.Inputs.Skip(1)) g.DropConstantIfUnused(i);
        }
    }

    /// <summary>The pads of a zero constant Pad over [N, C, spatial...] that leaves N and C alone.</summary>
    internal static long[] Pads(ImportGraph g, ImportNode pad, out int rank)
    {
        var shape = g.TryShape(pad.Input(0)) ?? throw pad.Fail("input shape unknown");
        rank = shape.Length;
        if (rank is not (3 or 4)) throw pad.Fail($"only [N, C, L] and [N, C, H, W] inputs are supported, got rank {rank}");
        string mode = pad.String("mode", "constant");
        if (mode != "constant") throw pad.Fail($"mode '{mode}' is not supported (only constant zero padding)");
        long[] pads = g.Opset < 11
            ? pad.Ints("pads") ?? throw pad.Fail("attribute 'pads' is required")
            : (g.TryConstant(pad.Input(1)) ?? throw pad.Fail("pads must be a constant")).ToIntArray($"{pad.Where}: pads");
        if (pad.HasInput(3)) throw pad.Fail("the axes input is not supported");
        double value = g.Opset < 11 ? pad.Float("value", 0) : pad.HasInput(2) ? (g.TryConstant(pad.Input(2)) ?? throw pad.Fail("constant_value must be a constant")).Scalar(pad.Where) : 0;
        if (value != 0) throw pad.Fail($"padding value {value} is not supported (only zero)");
        if (pads.Length != 2 * rank) throw pad.Fail($"pads has {pads.Length} entries for rank {rank}");
        if (pads.Any(p => p < 0 || p > int.MaxValue)) throw pad.Fail("negative (cropping) pads are not supported");
        if (pads[0] != 0 || pads[1] != 0 || pads[rank] != 0 || pads[rank + 1] != 0)
            throw pad.Fail("padding of the batch or channel dims is not supported");
        return pads;
    }
}
