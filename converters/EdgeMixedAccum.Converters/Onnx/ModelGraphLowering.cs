using EdgeMixedAccum.Converters.Passes;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Converters.Onnx;

/// <summary>
/// Turns an import graph that the passes have reduced to supported ops into a <see cref="ModelGraph"/>:
/// Dense and Conv layers (with fused activations), pools, Add, Flatten, Reshape (also for runtime Squeeze and
/// Unsqueeze, with the target taken from the inferred output shape), Softmax, Concat and stand-alone
/// activations. Constants become fp32 <see cref="TensorData"/>. The result passes <see cref="ModelGraph.Validate"/>.
/// </summary>
public static class ModelGraphLowering
{
    public static ModelGraph Lower(ImportGraph g)
    {
        var mg = new ModelGraph();
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var i in g.Inputs)
        {
            int id = mg.AddValue(i.Name, i.Shape);
            ids[i.Name] = id;
            mg.Inputs.Add(id);
        }
        int Value(string name, ImportNode? user)
        {
            if (ids.TryGetValue(name, out int id)) return id;
            if (g.TryConstant(name) is { } c)
            {
                if (c.Kind != ConstKind.Float && user is not null)
                    throw user.Fail($"constant '{name}' is {OnnxDataType.Name(c.DataType)}; only floating-point constants can reach the final graph");
                return ids[name] = mg.AddConstant(TensorData.FromFloat32(name, c.Shape, c.ToFloatArray()));
            }
            throw new EmaException(user is null ? $"graph output '{name}' is never produced" : $"{user.Where}: reads '{name}', which is never produced");
        }
        int[] ShapeOf(string name, ImportNode n) =>
            g.Shapes.TryGetValue(name, out var s) ? s : g.TryConstant(name)?.Shape ?? throw n.Fail($"the shape of '{name}' is unknown (shape inference has not run)");

        foreach (var n in g.Nodes)
        {
            for (int k = 1; k < n.Outputs.Count; k++)
                if (n.Outputs[k].Length > 0 && g.UseCount(n.Outputs[k]) > 0)
                    throw n.Fail($"output {k} ('{n.Outputs[k]}') is used, but only the first output of {n.OpType} is supported");
            var (node, inputs) = LowerNode(g, n, ShapeOf, name => Value(name, n));
            node.Name = n.Name;
            node.Inputs = inputs;
            string outName = n.Output0;
            if (ids.ContainsKey(outName)) throw n.Fail($"output '{outName}' is produced twice");
            node.Output = ids[outName] = mg.AddValue(outName, ShapeOf(outName, n));
            mg.Nodes.Add(node);
        }
        foreach (var o in g.Outputs) mg.Outputs.Add(Value(o, null));
        mg.Validate();
        return mg;
    }

    private static (Node Node, int[] Inputs) LowerNode(ImportGraph g, ImportNode n, Func<string, ImportNode, int[]> shapeOf, Func<string, int> value)
    {
        int[] Ins(params string[] names) => names.Where(s => s.Length > 0).Select(value).ToArray();
        switch (n.OpType)
        {
            case ImportOps.Dense:
                return (new DenseNode { Activation = n.Fused }, Ins(n.Input(0), n.Input(1), n.Input(2)));
            case "Conv":
                {
                    var x = shapeOf(n.Input(0), n);
                    var w = g.TryConstant(n.Input(1)) ?? throw n.Fail("weight must be a constant");
                    var geo = SpatialGeometry.Resolve(n, x.AsSpan(2), w.Shape[2..]);
                    var conv = new ConvNode
                    {
                        Strides = geo.Strides, Pads = geo.Pads, Dilations = geo.Dilations, Groups = n.Int32("group", 1),
                        Activation = n.Fused,
                    };
                    return (conv, Ins(n.Input(0), n.Input(1), n.Input(2)));
                }
            case "MaxPool" or "AveragePool":
                {
                    var x = shapeOf(n.Input(0), n);
                    var geo = SpatialGeometry.Resolve(n, x.AsSpan(2), null);
                    var pool = new PoolNode(max: n.OpType == "MaxPool")
                    {
                        Kernel = geo.Kernel, Strides = geo.Strides, Pads = geo.Pads, Dilations = geo.Dilations, CeilMode = geo.CeilMode,
                        CountIncludePad = n.OpType == "AveragePool" && n.Int("count_include_pad", 0) != 0,
                    };
                    return (pool, Ins(n.Input(0)));
                }
            case "GlobalAveragePool":
                return (new GlobalAveragePoolNode(), Ins(n.Input(0)));
            case "Add":
                return (new AddNode(), Ins(n.Input(0), n.Input(1)));
            case "Sub":
                {
                    // x - c is x + (-c); a runtime subtrahend has no IR op.
                    var c = g.TryConstant(n.Input(1));
                    if (c is null || g.IsConstant(n.Input(0)))
                        throw n.Fail("Sub is only supported as a runtime tensor minus a constant");
                    var neg = c.ToFloatArray();
                    for (int k = 0; k < neg.Length; k++) neg[k] = -neg[k];
                    string name = g.FreshName(n.Input(1) + "_neg");
                    g.Constants[name] = ConstTensor.Float(c.Shape, neg);
                    return (new AddNode(), Ins(n.Input(0), name));
                }
            case "Flatten":
                return (new FlattenNode { Axis = n.Int32("axis", 1) }, Ins(n.Input(0)));
            case "Reshape" or "Squeeze" or "Unsqueeze":
                {
                    var x = shapeOf(n.Input(0), n);
                    var target = (int[])shapeOf(n.Output0, n).Clone();
                    if (target.Any(d => d == 0)) throw n.Fail($"output shape {Shapes.Format(target)} is empty; empty tensors are not supported");
                    if (target.Length > 0 && target[0] == Shapes.Batch)
                        target[0] = x.Length > 0 && x[0] == Shapes.Batch ? 0 : -1;
                    return (new ReshapeNode { Target = target }, Ins(n.Input(0)));
                }
            case "Softmax":
                return (new SoftmaxNode { Axis = SoftmaxAxis(g, n, shapeOf(n.Input(0), n)) }, Ins(n.Input(0)));
            case "Concat":
                {
                    if (!n.Has("axis")) throw n.Fail("attribute 'axis' is required");
                    return (new ConcatNode { Axis = n.Int32("axis", 0) }, Ins([.. n.Inputs]));
                }
            case LayerNormFusionPass.Op:
                {
                    var node = new LayerNormNode { Axis = n.Int32("axis", -1), Epsilon = n.Float("epsilon", 1e-5f) };
                    return (node, Ins(n.Input(0), n.Input(1), n.Input(2)));
                }
            case "Transpose":
                {
                    var x = shapeOf(n.Input(0), n);
                    var perm = n.IntArray("perm") ?? Enumerable.Range(0, x.Length).Reverse().ToArray();
                    if (x.Length > 0 && x[0] == Shapes.Batch && perm.Length > 0 && perm[0] != 0)
                        throw n.Fail($"perm {Shapes.Format(perm)} moves the batch dim: only transposes that keep dim 0 in place run on runtime tensors (NHWC <-> NCHW)");
                    return (new TransposeNode { Perm = perm }, Ins(n.Input(0)));
                }
            case "Max" or "Min":
                throw n.Fail($"{n.OpType} on runtime tensors is only supported with one scalar constant operand (a clamp)");
            case "ReduceMean" or "Pow":
                throw n.Fail($"{n.OpType} on runtime tensors is only supported inside the decomposed LayerNorm pattern (ReduceMean -> Sub -> Pow(2) -> ReduceMean -> Add(eps) -> Sqrt -> Div [-> Mul(gamma) -> Add(beta)]) over trailing dims");
            case var op when ImportActivations.Ops.Contains(op):
                return (new ActivationNode { Activation = ImportActivations.Of(n, g) }, Ins(n.Input(0)));
            case "BatchNormalization":
                throw n.Fail("was not folded into a preceding layer (run the batchnorm-folding pass)");
            case "Gemm" or "MatMul":
                throw n.Fail("was not turned into a Dense layer (run the linear-layers pass)");
            case "Mul" or "Div" or "Erf":
                throw n.Fail($"{n.OpType} on runtime tensors is not supported: Mul, Div and Erf are only supported inside the GELU (erf form) and SiLU patterns, or when constant-foldable");
            default:
                throw n.Fail($"{n.OpType} on runtime tensors is not supported (it is only supported when it can be constant-folded)");
        }
    }

    /// <summary>
    /// Softmax axis in per-axis (opset 13) form. Before opset 13 Softmax normalised over all dims from axis
    /// on, flattened; that equals a per-axis softmax when every later dim is 1 (axis last, in particular).
    /// </summary>
    private static int SoftmaxAxis(ImportGraph g, ImportNode n, int[] x)
    {
        if (g.Opset >= 13) return n.Int32("axis", -1);
        long axis = n.Int("axis", 1);
        int a = ShapeMath.NormAxis(axis, x.Length, n);
        for (int d = a + 1; d < x.Length; d++)
            if (x[d] != 1)
                throw n.Fail($"before opset 13, Softmax with axis {axis} normalises over the flattened dims {a}.. of {Shapes.Format(x)} together; only supported when the axis is the last dim (or all later dims are 1)");
        if (a == 0) throw n.Fail("softmax over the batch dimension is not supported");
        return a;
    }
}
