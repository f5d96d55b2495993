namespace EdgeMixedAccum.Graph;

/// <summary>A value flowing through the graph: a graph input, a constant, or a node's output.</summary>
/// <param name="Shape">May carry <see cref="Shapes.Batch"/> at dim 0 (not for constants).</param>
/// <param name="Constant">Index into <see cref="ModelGraph.Tensors"/> for constants, else -1.</param>
public sealed record ValueInfo(string Name, int[] Shape, int Constant = -1)
{
    public bool IsConstant => Constant >= 0;
}

/// <summary>A graph that fails validation at a node; <see cref="NodeIndex"/> says which.</summary>
public sealed class GraphValidationException(int nodeIndex, string message) : EmaException(message)
{
    public int NodeIndex { get; } = nodeIndex;
}

/// <summary>
/// The graph IR shared by the converter, the reference executor and the runtime: values, nodes in
/// topological order, constant tensors, graph inputs and outputs.
/// </summary>
public sealed class ModelGraph
{
    public const int MaxNodes = 1 << 16;
    public const int MaxValues = 1 << 17;

    public List<ValueInfo> Values { get; } = [];
    public List<Node> Nodes { get; } = [];
    public List<TensorData> Tensors { get; } = [];
    public List<int> Inputs { get; } = [];
    public List<int> Outputs { get; } = [];

    public int AddValue(string name, int[] shape, int constant = -1)
    {
        Values.Add(new ValueInfo(name, shape, constant));
        return Values.Count - 1;
    }

    public int AddConstant(TensorData t)
    {
        Tensors.Add(t);
        return AddValue(t.Name, t.Shape, Tensors.Count - 1);
    }

    /// <summary>
    /// Checks the whole graph: ids in range, arity, topological order, single producer per value,
    /// weights constant, shapes as inferred. Throws <see cref="EmaException"/> naming the node or value.
    /// </summary>
    public void Validate()
    {
        if (Nodes.Count > MaxNodes) throw new EmaException($"graph has {Nodes.Count} nodes, more than the limit {MaxNodes}");
        if (Values.Count > MaxValues) throw new EmaException($"graph has {Values.Count} values, more than the limit {MaxValues}");
        if (Inputs.Count == 0) throw new EmaException("graph has no inputs");
        if (Outputs.Count == 0) throw new EmaException("graph has no outputs");
        var defined = new bool[Values.Count];
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int v = 0; v < Values.Count; v++)
        {
            var info = Values[v];
            if (!names.Add(info.Name)) throw new EmaException($"value {v}: name '{info.Name}' is used twice");
            if (info.IsConstant)
            {
                if (info.Constant >= Tensors.Count) throw new EmaException($"value '{info.Name}': constant tensor {info.Constant} does not exist ({Tensors.Count} tensors)");
                if (!Shapes.SameAs(info.Shape, Tensors[info.Constant].Shape))
                    throw new EmaException($"value '{info.Name}': shape {Shapes.Format(info.Shape)} differs from its tensor's {Shapes.Format(Tensors[info.Constant].Shape)}");
                defined[v] = true;
            }
            Shapes.Validate(info.Shape, $"value '{info.Name}'", allowBatch: !info.IsConstant);
        }
        foreach (int i in Inputs)
        {
            CheckId(i, "graph input");
            if (defined[i]) throw new EmaException($"graph input '{Values[i].Name}' is a constant or listed twice");
            defined[i] = true;
        }
        var shapes = new List<int[]>(8);
        for (int index = 0; index < Nodes.Count; index++)
        {
            try { ValidateNode(Nodes[index], defined, shapes); }
            catch (EmaException e) when (e is not GraphValidationException) { throw new GraphValidationException(index, e.Message); }
        }
        foreach (int o in Outputs)
        {
            CheckId(o, "graph output");
            if (!defined[o]) throw new EmaException($"graph output '{Values[o].Name}' is never produced");
        }
    }

    private void ValidateNode(Node node, bool[] defined, List<int[]> shapes)
    {
        {
            var (min, max) = node.Arity;
            if (node.Inputs.Length < min || node.Inputs.Length > max)
                throw node.Fail($"has {node.Inputs.Length} inputs, expects {min}..{max}");
            shapes.Clear();
            foreach (int i in node.Inputs)
            {
                CheckId(i, $"{node.Where} input");
                if (!defined[i]) throw node.Fail($"reads value '{Values[i].Name}' before it is produced");
                shapes.Add(Values[i].Shape);
            }
            CheckId(node.Output, $"{node.Where} output");
            if (defined[node.Output]) throw node.Fail($"output '{Values[node.Output].Name}' is already produced elsewhere");
            defined[node.Output] = true;
            if (node is LayerNode layer)
            {
                layer.Plan.Validate(node.Where);
                if (!Values[layer.Weight].IsConstant) throw node.Fail("weight must be a constant");
                if (layer.Bias >= 0 && !Values[layer.Bias].IsConstant) throw node.Fail("bias must be a constant");
                if (layer.Bias >= 0 && Tensors[Values[layer.Bias].Constant].DType != TensorDType.Float32)
                    throw node.Fail("bias must be stored as fp32");
                ValidateActivation(layer.Activation, node);
                var wType = Tensors[Values[layer.Weight].Constant].DType;
                if (layer.Plan.Precision == Precision.I8 && wType != TensorDType.Int8)
                    throw node.Fail($"i8 precision needs int8 weights, found {wType}");
                if (layer.Plan.Precision == Precision.F16Acc && wType != TensorDType.Float16)
                    throw node.Fail($"f16acc precision needs fp16 weights, found {wType}");
            }
            if (node is ActivationNode act) ValidateActivation(act.Activation, node);
            var inferred = node.InferShape(shapes);
            if (!Shapes.SameAs(inferred, Values[node.Output].Shape))
                throw node.Fail($"output '{Values[node.Output].Name}' is declared {Shapes.Format(Values[node.Output].Shape)} but infers to {Shapes.Format(inferred)}");
        }
    }

    private void CheckId(int id, string what)
    {
        if ((uint)id >= (uint)Values.Count) throw new EmaException($"{what}: value id {id} is out of range (0..{Values.Count - 1})");
    }

    private static void ValidateActivation(Activation a, Node node)
    {
        if (!Enum.IsDefined(a.Kind)) throw node.Fail($"unknown activation code {(byte)a.Kind}");
        if (!float.IsFinite(a.Alpha)) throw node.Fail($"activation alpha {a.Alpha} is not finite");
        if (a.Kind is ActivationKind.Clip or ActivationKind.LeakyReluClip && !(a.Min <= a.Max)) throw node.Fail($"clip bounds [{a.Min}, {a.Max}] are not ordered");
        if (float.IsNaN(a.Min) || float.IsNaN(a.Max)) throw node.Fail("clip bound is NaN");
    }

    /// <summary>Runs shape inference with the symbolic batch left symbolic and stores the results on the
    /// output values (the converter's last pass; the reader instead checks stored shapes).</summary>
    public void InferShapes()
    {
        var shapes = new List<int[]>(8);
        foreach (var node in Nodes)
        {
            shapes.Clear();
            foreach (int i in node.Inputs) shapes.Add(Values[i].Shape);
            var v = Values[node.Output];
            Values[node.Output] = v with { Shape = node.InferShape(shapes) };
        }
    }

    /// <summary>The constant tensor behind a value id.</summary>
    /// <summary>Layers whose output reaches a graph output through shape-only ops (Flatten, Reshape, Transpose), Softmax or an activation.</summary>
    public HashSet<LayerNode> HeadLayers()
    {
        var producer = new Dictionary<int, Node>();
        foreach (var n in Nodes) producer[n.Output] = n;
        var heads = new HashSet<LayerNode>();
        foreach (int output in Outputs)
        {
            int v = output;
            while (producer.TryGetValue(v, out var n))
            {
                if (n is LayerNode l) { heads.Add(l); break; }
                if (n is not (FlattenNode or ReshapeNode or TransposeNode or SoftmaxNode or ActivationNode)) break;
                v = n.Inputs[0];
            }
        }
        return heads;
    }

    public TensorData Constant(int value)
    {
        var info = Values[value];
        if (!info.IsConstant) throw new EmaException($"value '{info.Name}' is not a constant");
        return Tensors[info.Constant];
    }
}
