using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Converters.Quantization;

/// <summary>
/// Folds input normalisation x' = (x - mean) / std into the first layer (through any Flatten/Reshape
/// before it) when that is exact:
/// W' = W / std, b' = b - W (mean / std). Exact for a Dense layer and for an unpadded Conv; a padded
/// Conv pads x' with zeros, which a folded layer would see as x = 0 instead of x = mean at the
/// border, so there the normalisation stays in the model's metadata and the runtime applies it.
/// </summary>
public static class NormalizationFolder
{
    /// <summary>Folds when exact and returns null; otherwise returns why not (the caller keeps it as metadata).</summary>
    public static string? TryFold(ModelGraph g, InputNormalization norm)
    {
        if (g.Inputs.Count != 1) return "the model has several inputs";
        // Follow the input through shape-only ops (an MLP export often flattens first): a scalar
        // normalisation commutes with them, a per-channel one does not.
        int input = g.Inputs[0];
        Node[] consumers;
        while (true)
        {
            int v = input;
            consumers = g.Nodes.Where(n => n.Inputs.Contains(v)).ToArray();
            if (consumers.Length != 1 || g.Outputs.Contains(v)) return "the input does not feed a single Dense or Conv layer";
            if (consumers[0] is not (FlattenNode or ReshapeNode)) break;
            if (norm.Mean.Length != 1) return "a per-channel normalisation cannot move through a reshape";
            input = consumers[0].Output;
        }
        if (consumers[0] is not LayerNode layer || layer.X != input)
            return "the input does not feed a single Dense or Conv layer";
        if (g.Nodes.Count(n => n.Inputs.Contains(layer.Weight)) != 1 || (layer.Bias >= 0 && g.Nodes.Count(n => n.Inputs.Contains(layer.Bias)) != 1))
            return "the first layer shares its weights";
        var w = g.Constant(layer.Weight);
        if (w.DType != TensorDType.Float32) return "the first layer is already quantised";
        int m = w.Shape[0];
        int perRow = m == 0 ? 0 : (int)(w.ElementCount / m);
        int channels, inner;
        if (layer is ConvNode conv)
        {
            if (conv.Pads.Any(p => p != 0)) return "the first layer is a padded convolution (folding would change its border outputs)";
            channels = w.Shape[1] * conv.Groups;
            inner = perRow / w.Shape[1];
        }
        else
        {
            channels = w.Shape[1];
            inner = 1;
        }
        if (norm.Mean.Length != 1 && norm.Mean.Length != (layer is ConvNode ? channels : -1))
            return $"{norm.Mean.Length} normalisation channels do not match the first layer";

        var wv = w.AsFloat32().ToArray();
        var bias = layer.Bias >= 0 ? g.Constant(layer.Bias).AsFloat32().ToArray() : new float[m];
        int groups = layer is ConvNode c2 ? c2.Groups : 1;
        int cPerGroup = channels / groups, mPerGroup = m / groups;
        for (int o = 0; o < m; o++)
        {
            double shift = 0;
            for (int k = 0; k < perRow; k++)
            {
                int c = layer is ConvNode ? (o / mPerGroup) * cPerGroup + k / inner : 0;
                float mean = norm.Mean.Length == 1 ? norm.Mean[0] : norm.Mean[c];
                float std = norm.Std.Length == 1 ? norm.Std[0] : norm.Std[c];
                shift += (double)wv[o * perRow + k] * mean / std;
                wv[o * perRow + k] /= std;
            }
            bias[o] = (float)(bias[o] - shift);
        }
        g.Tensors[g.Values[layer.Weight].Constant] = TensorData.FromFloat32(w.Name, w.Shape, wv);
        var b = TensorData.FromFloat32(layer.Bias >= 0 ? g.Constant(layer.Bias).Name : layer.Name + ".bias_folded", [m], bias);
        if (layer.Bias >= 0) g.Tensors[g.Values[layer.Bias].Constant] = b;
        else layer.Inputs = [layer.X, layer.Weight, g.AddConstant(b)];
        return null;
    }
}
