using System.Numerics;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Reference;

/// <summary>
/// Runs a graph with <see cref="ReferenceOps{T}"/> in fp64 (T = double) or fp32 (T = float), ignoring
/// the precision plans: weights are the stored values (int8 dequantised, fp16 widened), every sum is
/// accumulated in T. This is the oracle for kernels and the converter, and the fp64 error baseline.
/// </summary>
public static class ReferenceExecutor
{
    /// <summary>Runs <paramref name="g"/> on inputs given in graph-input order; returns the graph outputs.</summary>
    /// <param name="observe">Called with each node and its output as it is computed (calibration, tracing).</param>
    /// <param name="layer">When given, computes every Dense and Conv node instead of the plain loops (the study's
    /// emulated low-precision layers): called with the node, its inputs and its output shape.</param>
    public static RefTensor<T>[] Run<T>(ModelGraph g, IReadOnlyList<RefTensor<T>> inputs, Action<Node, RefTensor<T>>? observe = null,
        Func<LayerNode, RefTensor<T>[], int[], RefTensor<T>>? layer = null)
        where T : IFloatingPointIeee754<T>
    {
        if (inputs.Count != g.Inputs.Count)
            throw new EmaException($"the model takes {g.Inputs.Count} input(s), {inputs.Count} given");
        var values = new RefTensor<T>?[g.Values.Count];
        for (int i = 0; i < inputs.Count; i++)
        {
            var info = g.Values[g.Inputs[i]];
            CheckInputShape(info, inputs[i].Shape);
            values[g.Inputs[i]] = inputs[i];
        }
        RefTensor<T> Get(int id)
        {
            if (values[id] is { } v) return v;
            var info = g.Values[id];
            if (!info.IsConstant) throw new EmaException($"value '{info.Name}' is read before it is produced");
            var t = g.Tensors[info.Constant];
            return values[id] = RefTensor<T>.FromFloat(t.Shape, t.ToFloat32());
        }
        var shapes = new List<int[]>(4);
        foreach (var node in g.Nodes)
        {
            var ins = node.Inputs.Select(Get).ToArray();
            shapes.Clear();
            foreach (var t in ins) shapes.Add(t.Shape);
            int[] outShape = node.InferShape(shapes);
            values[node.Output] = node switch
            {
                LayerNode l when layer is not null => layer(l, ins, outShape),
                DenseNode d => ReferenceOps<T>.Dense(ins[0], ins[1], ins.Length > 2 ? ins[2] : null, d.Activation, outShape),
                ConvNode c => ReferenceOps<T>.Conv(ins[0], ins[1], ins.Length > 2 ? ins[2] : null, c, c.Activation, outShape),
                PoolNode p => ReferenceOps<T>.Pool(ins[0], p, outShape),
                GlobalAveragePoolNode => ReferenceOps<T>.GlobalAveragePool(ins[0], outShape),
                AddNode => ReferenceOps<T>.Add(ins[0], ins[1], outShape),
                FlattenNode or ReshapeNode => new RefTensor<T>(outShape, ins[0].Data),
                SoftmaxNode s => ReferenceOps<T>.Softmax(ins[0], s.Axis),
                ConcatNode c => ReferenceOps<T>.Concat(ins, c.Axis, outShape),
                ActivationNode a => ReferenceOps<T>.Activate(ins[0], a.Activation),
                LayerNormNode ln => ReferenceOps<T>.LayerNorm(ins[0], ins[1], ins.Length > 2 ? ins[2] : null, ln.FirstAxis(ins[0].Shape.Length), ln.Epsilon),
                TransposeNode t => ReferenceOps<T>.Transpose(ins[0], t.Perm, outShape),
                _ => throw new EmaException($"{node}: the reference executor has no implementation of {node.Op}"),
            };
            observe?.Invoke(node, values[node.Output]!);
        }
        return g.Outputs.Select(o => values[o]!).ToArray();
    }

    /// <summary>Runs a stored model on fp32 inputs (normalised first when the model asks for it).</summary>
    public static RefTensor<T>[] Run<T>(EmaModel model, params (float[] Data, int[] Shape)[] inputs) where T : IFloatingPointIeee754<T>
        => Run<T>(model, null, inputs);

    /// <summary>As <see cref="Run{T}(EmaModel, ValueTuple{float[], int[]}[])"/>, observing every node's output.</summary>
    public static RefTensor<T>[] Run<T>(EmaModel model, Action<Node, RefTensor<T>>? observe, params (float[] Data, int[] Shape)[] inputs)
        where T : IFloatingPointIeee754<T>
    {
        var ins = new RefTensor<T>[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            var data = inputs[i].Data;
            if (i == 0 && model.Metadata.Normalization is { } norm)
            {
                data = (float[])data.Clone();
                norm.Apply(data, inputs[i].Shape);
            }
            ins[i] = RefTensor<T>.FromFloat(inputs[i].Shape, data);
        }
        return Run(model.Graph, ins, observe);
    }

    /// <summary>A given input shape must match the declared one, the symbolic batch matching any size.</summary>
    public static void CheckInputShape(ValueInfo declared, int[] given)
    {
        bool ok = declared.Shape.Length == given.Length;
        for (int d = 0; ok && d < given.Length; d++)
            ok = given[d] >= 0 && (declared.Shape[d] == given[d] || (d == 0 && declared.Shape[d] == Shapes.Batch));
        if (!ok) throw new EmaException($"input '{declared.Name}' expects shape {Shapes.Format(declared.Shape)}, got {Shapes.Format(given)}");
    }

    /// <summary>
    /// Maps an input array's shape onto a model input: [B, ...sample] is a batch; a shape equal to the sample
    /// alone is a batch of one; a flat-vector model also takes [B, ...] with the same elements per sample.
    /// </summary>
    public static (int Batch, int[] Shape) FitInputShape(ValueInfo declared, int[] given, string source)
    {
        var want = declared.Shape;
        bool symbolic = want.Length > 0 && want[0] == Shapes.Batch;
        if (!symbolic)
        {
            CheckInputShape(declared, given);
            return (want.Length == 0 ? 1 : want[0], given);
        }
        var sample = want[1..];
        if (given.Length == want.Length && given.AsSpan(1).SequenceEqual(sample)) return (given[0], given);
        if (given.AsSpan().SequenceEqual(sample)) return (1, [1, .. sample]);
        if (sample.Length == 1 && given.Length >= 2 && Shapes.Elements(given.AsSpan(1), source) == sample[0])
            return (given[0], [given[0], sample[0]]);
        throw new EmaException($"{source} has shape {Shapes.Format(given)}; input '{declared.Name}' expects {Shapes.Format(want)} (N = batch)");
    }
}
