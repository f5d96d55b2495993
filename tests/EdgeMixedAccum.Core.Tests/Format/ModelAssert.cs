using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Tests.Format;

/// <summary>
/// Field-by-field comparison of two models (metadata, values, inputs/outputs, every node attribute,
/// layer plans and activations, tensor bytes, scales and row statistics). Floats compare by their bits,
/// so -0 vs 0 or a changed NaN payload is a difference. Fails naming the first differing field.
/// </summary>
public static class ModelAssert
{
    public static void Equivalent(EmaModel expected, EmaModel actual)
    {
        Metadata(expected.Metadata, actual.Metadata);
        Graph(expected.Graph, actual.Graph);
    }

    public static void Metadata(ModelMetadata e, ModelMetadata a)
    {
        Same(e.ModelName, a.ModelName, "metadata.ModelName");
        Bytes(e.SourceSha256, a.SourceSha256, "metadata.SourceSha256");
        Same(e.ConverterVersion, a.ConverterVersion, "metadata.ConverterVersion");
        Same(e.Normalization is null, a.Normalization is null, "metadata.Normalization is null");
        if (e.Normalization is { } en && a.Normalization is { } an)
        {
            Floats(en.Mean, an.Mean, "metadata.Normalization.Mean");
            Floats(en.Std, an.Std, "metadata.Normalization.Std");
        }
        Same(e.Labels.Count, a.Labels.Count, "metadata.Labels.Count");
        for (int i = 0; i < e.Labels.Count; i++) Same(e.Labels[i], a.Labels[i], $"metadata.Labels[{i}]");
    }

    public static void Graph(ModelGraph e, ModelGraph a)
    {
        Same(e.Values.Count, a.Values.Count, "Values.Count");
        for (int v = 0; v < e.Values.Count; v++)
        {
            Same(e.Values[v].Name, a.Values[v].Name, $"Values[{v}].Name");
            Ints(e.Values[v].Shape, a.Values[v].Shape, $"Values[{v}].Shape");
            Same(e.Values[v].Constant, a.Values[v].Constant, $"Values[{v}].Constant");
        }
        Ints(e.Inputs.ToArray(), a.Inputs.ToArray(), "Inputs");
        Ints(e.Outputs.ToArray(), a.Outputs.ToArray(), "Outputs");
        Same(e.Tensors.Count, a.Tensors.Count, "Tensors.Count");
        for (int t = 0; t < e.Tensors.Count; t++) Tensor(e.Tensors[t], a.Tensors[t], $"Tensors[{t}]");
        Same(e.Nodes.Count, a.Nodes.Count, "Nodes.Count");
        for (int n = 0; n < e.Nodes.Count; n++) Node(e.Nodes[n], a.Nodes[n], $"Nodes[{n}]");
    }

    public static void Tensor(TensorData e, TensorData a, string path)
    {
        Same(e.Name, a.Name, path + ".Name");
        Same(e.DType, a.DType, path + ".DType");
        Ints(e.Shape, a.Shape, path + ".Shape");
        Same(e.ElementCount, a.ElementCount, path + ".ElementCount");
        Bytes(e.Data.Span, a.Data.Span, path + ".Data");
        Bytes(e.ScalesBytes.Span, a.ScalesBytes.Span, path + ".Scales");
        Bytes(e.RowL1Bytes.Span, a.RowL1Bytes.Span, path + ".RowL1");
        Bytes(e.RowL2Bytes.Span, a.RowL2Bytes.Span, path + ".RowL2");
    }

    public static void Node(Node e, Node a, string path)
    {
        Same(e.GetType(), a.GetType(), path + " type");
        Same(e.Op, a.Op, path + ".Op");
        Same(e.Name, a.Name, path + ".Name");
        Ints(e.Inputs, a.Inputs, path + ".Inputs");
        Same(e.Output, a.Output, path + ".Output");
        switch (e)
        {
            case LayerNode el:
                var al = (LayerNode)a;
                Act(el.Activation, al.Activation, path + ".Activation");
                Plan(el.Plan, al.Plan, path + ".Plan");
                if (el is ConvNode ec)
                {
                    var ac = (ConvNode)a;
                    Ints(ec.Strides, ac.Strides, path + ".Strides");
                    Ints(ec.Pads, ac.Pads, path + ".Pads");
                    Ints(ec.Dilations, ac.Dilations, path + ".Dilations");
                    Same(ec.Groups, ac.Groups, path + ".Groups");
                }
                break;
            case PoolNode ep:
                var ap = (PoolNode)a;
                Same(ep.IsMax, ap.IsMax, path + ".IsMax");
                Ints(ep.Kernel, ap.Kernel, path + ".Kernel");
                Ints(ep.Strides, ap.Strides, path + ".Strides");
                Ints(ep.Pads, ap.Pads, path + ".Pads");
                Ints(ep.Dilations, ap.Dilations, path + ".Dilations");
                Same(ep.CeilMode, ap.CeilMode, path + ".CeilMode");
                Same(ep.CountIncludePad, ap.CountIncludePad, path + ".CountIncludePad");
                break;
            case FlattenNode ef: Same(ef.Axis, ((FlattenNode)a).Axis, path + ".Axis"); break;
            case SoftmaxNode es: Same(es.Axis, ((SoftmaxNode)a).Axis, path + ".Axis"); break;
            case ConcatNode ecat: Same(ecat.Axis, ((ConcatNode)a).Axis, path + ".Axis"); break;
            case ReshapeNode er: Ints(er.Target, ((ReshapeNode)a).Target, path + ".Target"); break;
            case ActivationNode ea: Act(ea.Activation, ((ActivationNode)a).Activation, path + ".Activation"); break;
            case LayerNormNode eln:
                Same(eln.Axis, ((LayerNormNode)a).Axis, path + ".Axis");
                Same(eln.Epsilon, ((LayerNormNode)a).Epsilon, path + ".Epsilon");
                break;
            case TransposeNode et: Ints(et.Perm, ((TransposeNode)a).Perm, path + ".Perm"); break;
            case GlobalAveragePoolNode or AddNode: break;
            default: Assert.Fail($"{path}: node type {e.GetType().Name} is not covered by ModelAssert"); break;
        }
    }

    public static void Act(Activation e, Activation a, string path)
    {
        Same(e.Kind, a.Kind, path + ".Kind");
        Float(e.Alpha, a.Alpha, path + ".Alpha");
        Float(e.Min, a.Min, path + ".Min");
        Float(e.Max, a.Max, path + ".Max");
    }

    public static void Plan(LayerPlan e, LayerPlan a, string path)
    {
        Same(e.Precision, a.Precision, path + ".Precision");
        Same(e.Estimator, a.Estimator, path + ".Estimator");
        Same(e.BlockSize, a.BlockSize, path + ".BlockSize");
        Float(e.Tau, a.Tau, path + ".Tau");
        Float(e.TauNegative, a.TauNegative, path + ".TauNegative");
        Float(e.InputScale, a.InputScale, path + ".InputScale");
    }

    private static void Same<T>(T e, T a, string path)
    {
        if (!EqualityComparer<T>.Default.Equals(e, a)) Assert.Fail($"{path}: expected {e}, got {a}");
    }

    private static void Float(float e, float a, string path)
    {
        if (BitConverter.SingleToUInt32Bits(e) != BitConverter.SingleToUInt32Bits(a))
            Assert.Fail($"{path}: expected {e} (0x{BitConverter.SingleToUInt32Bits(e):x8}), got {a} (0x{BitConverter.SingleToUInt32Bits(a):x8})");
    }

    private static void Floats(float[] e, float[] a, string path)
    {
        Same(e.Length, a.Length, path + ".Length");
        for (int i = 0; i < e.Length; i++) Float(e[i], a[i], $"{path}[{i}]");
    }

    private static void Ints(int[] e, int[] a, string path)
    {
        if (!e.AsSpan().SequenceEqual(a)) Assert.Fail($"{path}: expected {Shapes.Format(e)}, got {Shapes.Format(a)}");
    }

    private static void Bytes(ReadOnlySpan<byte> e, ReadOnlySpan<byte> a, string path)
    {
        if (e.Length != a.Length) Assert.Fail($"{path}: expected {e.Length} bytes, got {a.Length}");
        int i = e.SequenceCompareTo(a) == 0 ? -1 : FirstDiff(e, a);
        if (i >= 0) Assert.Fail($"{path}: byte {i} differs: expected 0x{e[i]:x2}, got 0x{a[i]:x2}");
    }

    private static int FirstDiff(ReadOnlySpan<byte> e, ReadOnlySpan<byte> a)
    {
        for (int i = 0; i < e.Length; i++) if (e[i] != a[i]) return i;
        return -1;
    }
}
