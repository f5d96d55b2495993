using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Converters.Passes;

/// <summary>Helpers shared by the passes that rewrite layer weights.</summary>
internal static class LayerUtil
{
    public static bool IsLayer(ImportNode n) => n.OpType is ImportOps.Dense or "Conv";

    /// <summary>Stores <paramref name="t"/> as the new value of a layer constant: under the old name when the
    /// layer was its only reader, else under a fresh name. Returns the name to read.</summary>
    public static string ReplaceConstant(ImportGraph g, string old, ImportNode user, ConstTensor t, string suffix)
    {
        if (old.Length > 0 && g.IsConstant(old) && g.OnlyFeeds(old, user))
        {
            g.Constants[old] = t;
            return old;
        }
        string name = g.FreshName((old.Length > 0 ? old : user.Name) + suffix);
        g.Constants[name] = t;
        return name;
    }

    public static ConstTensor FloatConstant(ImportGraph g, ImportNode n, int input, string what)
    {
        var c = g.TryConstant(n.Input(input)) ?? throw n.Fail($"{what} '{n.Input(input)}' must be a constant");
        if (c.Kind != ConstKind.Float) throw n.Fail($"{what} '{n.Input(input)}' must be floating point, found {OnnxDataType.Name(c.DataType)}");
        return c;
    }

    public static void SetInputs(ImportNode n, params string[] inputs)
    {
        n.Inputs.Clear();
        n.Inputs.AddRange(inputs);
    }
}

/// <summary>
/// Turns Gemm and MatMul with a constant right operand into <see cref="ImportOps.Dense"/> (y = x W^T + b):
/// Gemm's transB, alpha and beta are folded into W and b (W = alpha B' ^T, b = beta C); MatMul's B [K, N]
/// becomes W = B^T. Both operands constant: folded to a constant. A Dense or Conv followed by an Add, Sub,
/// Mul or Div with a constant that broadcasts along the output channels only (MatMul + Add from PyTorch and
/// tf2onnx, Conv without bias + Add, a per-channel scale) takes it into its bias (and weights, for Mul and
/// Div) when the layer output has no other reader. Conv weights and biases are checked to be constants.
/// </summary>
public sealed class LinearLayerPass : IImportPass
{
    public string Name => "linear-layers";

    public void Run(ImportGraph g)
    {
        foreach (var n in g.Nodes.ToList())
        {
            switch (n.OpType)
            {
                case "Gemm": Gemm(g, n); break;
                case "MatMul": MatMul(g, n); break;
                case "Conv":
                    LayerUtil.FloatConstant(g, n, 1, "weight");
                    if (n.HasInput(2)) LayerUtil.FloatConstant(g, n, 2, "bias");
                    break;
            }
        }
        foreach (var n in g.Nodes.ToList())
            if (LayerUtil.IsLayer(n) && g.Nodes.Contains(n))
                while (FuseChannelAffine(g, n)) { }
    }

    private static bool FoldIfConstant(ImportGraph g, ImportNode n)
    {
        if (!g.IsConstant(n.Input(0)) || !g.IsConstant(n.Input(1))) return false;
        var r = ConstantEvaluator.TryEvaluate(n, g) ?? throw n.Fail("has constant operands but a runtime C, which is not supported");
        g.Constants[n.Output0] = r[0];
        g.Shapes.Remove(n.Output0);
        g.Nodes.Remove(n);
        return true;
    }

    private static void Gemm(ImportGraph g, ImportNode n)
    {
        if (FoldIfConstant(g, n)) return;
        string a = n.Input(0);
        bool aConst = g.IsConstant(a), bConst = g.IsConstant(n.Input(1));
        if (!aConst && n.Int("transA", 0) != 0)
            throw n.Fail($"transA=1 on the runtime input '{a}' would transpose the activations, which is not supported; export with the activations as A and transA=0");
        if (aConst) throw n.Fail("a constant A with a runtime B (activations as the right operand) is not supported; export with the activations as A");
        if (!bConst) throw n.Fail($"B '{n.Input(1)}' must be a constant (a product of two runtime tensors is not supported)");
        var b = LayerUtil.FloatConstant(g, n, 1, "B");
        if (b.Rank != 2) throw n.Fail($"B {Shapes.Format(b.Shape)} must have rank 2");
        bool tb = n.Int("transB", 0) != 0;
        double alpha = n.Float("alpha", 1f), beta = n.Float("beta", 1f);
        int k = tb ? b.Shape[1] : b.Shape[0], nOut = tb ? b.Shape[0] : b.Shape[1];
        var B = b.Floats;
        var w = new float[nOut * k];
        for (int j = 0; j < nOut; j++)
            for (int t = 0; t < k; t++)
                w[j * k + t] = (float)(alpha * B[tb ? j * k + t : t * nOut + j]);
        if (g.TryShape(a) is { } sa && (sa.Length != 2 || sa[1] != k))
            throw n.Fail($"A {Shapes.Format(sa)} must be [M, {k}]");
        string wName = LayerUtil.ReplaceConstant(g, n.Input(1), n, ConstTensor.Float([nOut, k], w), tb ? "" : "_t");

        string c = n.Input(2);
        string? biasName = null;
        ImportNode? addRuntimeC = null;
        if (c.Length > 0 && g.TryConstant(c) is { } cc)
        {
            if (beta != 0)
            {
                var bias = ChannelVector(cc, nOut, 2, channelAxis: 1) ?? throw n.Fail($"C {Shapes.Format(cc.Shape)} must broadcast along the batch (shape [N], [1, N] or a scalar, N = {nOut})");
                for (int j = 0; j < nOut; j++) bias[j] = (float)(beta * bias[j]);
                biasName = LayerUtil.ReplaceConstant(g, c, n, ConstTensor.Float([nOut], bias), "_bias");
            }
        }
        else if (c.Length > 0)
        {
            if (beta != 1) throw n.Fail($"a runtime C needs beta = 1, got {beta}");
            string tmp = g.FreshName(n.Output0 + "_gemm");
            if (g.TryShape(n.Output0) is { } so) g.Shapes[tmp] = so;
            addRuntimeC = new ImportNode("Add", n.Name + "_c", [tmp, c], [n.Output0]);
            n.Outputs[0] = tmp;
        }
        n.OpType = ImportOps.Dense;
        n.Attributes.Clear();
        LayerUtil.SetInputs(n, biasName is null ? [a, wName] : [a, wName, biasName]);
        if (addRuntimeC is not null) g.Nodes.Insert(g.Nodes.IndexOf(n) + 1, addRuntimeC);
        g.DropConstantIfUnused(c);
    }

    private static void MatMul(ImportGraph g, ImportNode n)
    {
        if (FoldIfConstant(g, n)) return;
        bool aConst = g.IsConstant(n.Input(0)), bConst = g.IsConstant(n.Input(1));
        if (aConst) throw n.Fail("a constant A with a runtime B (activations as the right operand) is not supported");
        if (!bConst) throw n.Fail($"B '{n.Input(1)}' must be a constant (a product of two runtime tensors is not supported)");
        var b = LayerUtil.FloatConstant(g, n, 1, "B");
        if (b.Rank != 2) throw n.Fail($"a constant B of shape {Shapes.Format(b.Shape)} is not supported (need [K, N])");
        int k = b.Shape[0], nOut = b.Shape[1];
        if (g.TryShape(n.Input(0)) is { } sa && (sa.Length < 2 || sa[^1] != k))
            throw n.Fail($"A {Shapes.Format(sa)} must have rank >= 2 and end in K = {k}");
        var B = b.Floats;
        var w = new float[nOut * k];
        for (int j = 0; j < nOut; j++)
            for (int t = 0; t < k; t++) w[j * k + t] = B[t * nOut + j];
        string wName = LayerUtil.ReplaceConstant(g, n.Input(1), n, ConstTensor.Float([nOut, k], w), "_t");
        n.OpType = ImportOps.Dense;
        n.Attributes.Clear();
        LayerUtil.SetInputs(n, n.Input(0), wName);
    }

    /// <summary>
    /// The per-channel vector of a constant that broadcasts against a layer output of rank <paramref name="rank"/>
    /// with <paramref name="channels"/> channels at <paramref name="channelAxis"/> and is 1 everywhere else; null
    /// when it does not have that form.
    /// </summary>
    internal static float[]? ChannelVector(ConstTensor c, int channels, int rank, int channelAxis)
    {
        if (c.Rank > rank) return null;
        int chanDim = 1;
        for (int i = 0; i < c.Rank; i++)
        {
            int p = rank - c.Rank + i;
            if (p == channelAxis) { if (c.Shape[i] != channels && c.Shape[i] != 1) return null; chanDim = c.Shape[i]; }
            else if (c.Shape[i] != 1) return null;
        }
        var v = c.ToFloatArray();
        var r = new float[channels];
        for (int j = 0; j < channels; j++) r[j] = v[chanDim == 1 ? 0 : j];
        return r;
    }

    private static bool FuseChannelAffine(ImportGraph g, ImportNode layer)
    {
        string outName = layer.Output0;
        if (g.IsOutput(outName)) return false;
        var cons = g.Consumers(outName);
        if (cons.Count != 1 || cons[0].Node.OpType is not ("Add" or "Sub" or "Mul" or "Div")) return false;
        var op = cons[0].Node;
        if (op.Inputs.Count != 2) return false;
        // Sub and Div only with the layer as the left operand: c - y and c / y are not affine in W.
        if (op.OpType is "Sub" or "Div" && cons[0].Index != 0) return false;
        string cName = op.Input(1 - cons[0].Index);
        var c = g.TryConstant(cName);
        if (c is null || c.Kind != ConstKind.Float) return false;
        var w = g.Constants[layer.Input(1)];
        int channels = w.Shape[0];
        int rank; int axis;
        if (layer.OpType == "Conv") { rank = w.Rank; axis = 1; }
        else { rank = g.TryShape(outName)?.Length ?? 2; axis = rank - 1; }
        var v = ChannelVector(c, channels, rank, axis);
        if (v is null) return false;
        bool hadBias = layer.HasInput(2);
        var bias = hadBias ? LayerUtil.FloatConstant(g, layer, 2, "bias").ToDoubleArray() : new double[channels];
        if (op.OpType is "Add" or "Sub")
        {
            for (int j = 0; j < channels; j++) bias[j] += op.OpType == "Add" ? v[j] : -(double)v[j];
        }
        else
        {
            // A per-channel scale: W rows and the bias scale together.
            var scale = v.Select(f => op.OpType == "Mul" ? (double)f : 1.0 / f).ToArray();
            var W = w.Floats;
            int row = w.Count / Math.Max(1, channels);
            var nw = new float[w.Count];
            for (int j = 0; j < channels; j++)
            {
                for (int t = 0; t < row; t++) nw[j * row + t] = (float)(W[j * row + t] * scale[j]);
                bias[j] *= scale[j];
            }
            layer.Inputs[1] = LayerUtil.ReplaceConstant(g, layer.Input(1), layer, ConstTensor.Float(w.Shape, nw), "_scaled");
        }
        if (hadBias || op.OpType is "Add" or "Sub")
        {
            string biasName = LayerUtil.ReplaceConstant(g, layer.Input(2), layer, ConstTensor.Float([channels], bias.Select(b => (float)b).ToArray()), "_bias");
            if (layer.Inputs.Count > 2) layer.Inputs[2] = biasName; else layer.Inputs.Add(biasName);
        }
        layer.Outputs[0] = op.Output0;
        g.Nodes.Remove(op);
        g.Shapes.Remove(outName);
        g.DropConstantIfUnused(cName);
        return true;
    }
}

/// <summary>
/// Folds BatchNormalization into the Conv or Dense (Gemm/MatMul) that produces its input, when that output
/// has no other reader: with s = scale / sqrt(var + eps), W'[c] = s[c] W[c] and b'[c] = s[c] (b[c] - mean[c]) + beta[c]
/// (computed in fp64, stored as fp32). A BatchNormalization with no such layer before it fails.
/// </summary>
public sealed class BatchNormFoldingPass : IImportPass
{
    public string Name => "batchnorm-folding";

    public void Run(ImportGraph g)
    {
        foreach (var bn in g.Nodes.ToList())
        {
            if (bn.OpType != "BatchNormalization") continue;
            if (bn.Int("training_mode", 0) != 0) throw bn.Fail("training_mode=1 is not supported (inference graphs only)");
            if (g.Opset < 9 && bn.Int("spatial", 1) != 1) throw bn.Fail("spatial=0 is not supported");
            for (int k = 1; k < bn.Outputs.Count; k++)
                if (bn.Outputs[k].Length > 0 && g.UseCount(bn.Outputs[k]) > 0) throw bn.Fail($"training output '{bn.Outputs[k]}' is used");
            string x = bn.Input(0);
            var layer = g.Producer(x);
            if (layer is null || !LayerUtil.IsLayer(layer))
            {
                string from = layer is null ? (g.IsInput(x) ? "the graph input" : g.IsConstant(x) ? "a constant" : "nothing") : $"{layer.OpType} node '{layer.Name}'";
                throw bn.Fail($"has no preceding Conv/Gemm/MatMul layer to fold into (its input '{x}' comes from {from}); a stand-alone BatchNormalization is not supported");
            }
            if (!g.OnlyFeeds(x, bn))
                throw bn.Fail($"cannot be folded into {layer.OpType} node '{layer.Name}': the layer output '{x}' has other readers");
            if (layer.Fused.Kind != ActivationKind.Identity) throw bn.Fail($"an activation separates it from {layer.OpType} node '{layer.Name}'");
            var w = LayerUtil.FloatConstant(g, layer, 1, "weight");
            int channels = w.Shape[0];
            if (layer.OpType == ImportOps.Dense && g.TryShape(x) is { } sx && sx.Length != 2)
                throw bn.Fail($"normalises dim 1 of {Shapes.Format(sx)}, which is not the output channel dim of Dense node '{layer.Name}'");
            var p = new double[4][];
            string[] names = ["scale", "B", "mean", "var"];
            for (int i = 0; i < 4; i++)
            {
                var c = LayerUtil.FloatConstant(g, bn, i + 1, names[i]);
                if (c.Count != channels) throw bn.Fail($"{names[i]} has {c.Count} elements, the layer {channels} channels");
                p[i] = c.ToDoubleArray();
            }
            double eps = bn.Float("epsilon", 1e-5f);
            var W = w.Floats;
            int row = w.Count / Math.Max(1, channels);
            var nw = new float[w.Count];
            var nb = new float[channels];
            var oldB = layer.HasInput(2) ? LayerUtil.FloatConstant(g, layer, 2, "bias").ToDoubleArray() : new double[channels];
            for (int c = 0; c < channels; c++)
            {
                double s = p[0][c] / Math.Sqrt(p[3][c] + eps);
                for (int j = 0; j < row; j++) nw[c * row + j] = (float)(W[c * row + j] * s);
                nb[c] = (float)((oldB[c] - p[2][c]) * s + p[1][c]);
            }
            string wName = LayerUtil.ReplaceConstant(g, layer.Input(1), layer, ConstTensor.Float(w.Shape, nw), "_bn");
            string bName = LayerUtil.ReplaceConstant(g, layer.Input(2), layer, ConstTensor.Float([channels], nb), "_bn");
            layer.Inputs[1] = wName;
            if (layer.Inputs.Count > 2) layer.Inputs[2] = bName; else layer.Inputs.Add(bName);
            layer.Outputs[0] = bn.Output0;
            g.Nodes.Remove(bn);
            g.Shapes.Remove(x);
            for (int i = 1; i <= 4; i++) g.DropConstantIfUnused(bn.Input(i));
        }
    }
}
