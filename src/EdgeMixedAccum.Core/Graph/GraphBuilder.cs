namespace EdgeMixedAccum.Graph;

/// <summary>
/// Builds a <see cref="ModelGraph"/> op by op, inferring each output shape as it goes (so a mistake
/// surfaces at the op that made it). Used by the converter and by tests.
/// </summary>
public sealed class GraphBuilder
{
    private int _auto;
    public ModelGraph Graph { get; } = new();

    public int Input(string name, params int[] shape)
    {
        int v = Graph.AddValue(name, shape);
        Graph.Inputs.Add(v);
        return v;
    }

    public void Output(int value) => Graph.Outputs.Add(value);

    public int Constant(TensorData t) => Graph.AddConstant(t);

    public int Dense(int x, TensorData weight, TensorData? bias = null, Activation? activation = null, LayerPlan? plan = null, string? name = null)
    {
        var n = new DenseNode { Activation = activation ?? EdgeMixedAccum.Graph.Activation.Identity, Plan = plan ?? LayerPlan.Fp32 };
        return Add(n, name, LayerInputs(x, weight, bias));
    }

    public int Conv(int x, TensorData weight, TensorData? bias = null, int[]? strides = null, int[]? pads = null,
        int[]? dilations = null, int groups = 1, Activation? activation = null, LayerPlan? plan = null, string? name = null)
    {
        int sp = weight.Shape.Length - 2;
        var n = new ConvNode
        {
            Strides = strides ?? Ones(sp), Pads = pads ?? new int[2 * sp], Dilations = dilations ?? Ones(sp), Groups = groups,
            Activation = activation ?? EdgeMixedAccum.Graph.Activation.Identity, Plan = plan ?? LayerPlan.Fp32,
        };
        return Add(n, name, LayerInputs(x, weight, bias));
    }

    public int MaxPool(int x, int[] kernel, int[]? strides = null, int[]? pads = null, int[]? dilations = null, bool ceilMode = false, string? name = null)
        => Add(new PoolNode(max: true) { Kernel = kernel, Strides = strides ?? kernel, Pads = pads ?? new int[2 * kernel.Length], Dilations = dilations ?? Ones(kernel.Length), CeilMode = ceilMode }, name, x);

    public int AveragePool(int x, int[] kernel, int[]? strides = null, int[]? pads = null, bool countIncludePad = false, bool ceilMode = false, string? name = null)
        => Add(new PoolNode(max: false) { Kernel = kernel, Strides = strides ?? kernel, Pads = pads ?? new int[2 * kernel.Length], Dilations = Ones(kernel.Length), CountIncludePad = countIncludePad, CeilMode = ceilMode }, name, x);

    public int GlobalAveragePool(int x, string? name = null) => Add(new GlobalAveragePoolNode(), name, x);
    public int Add(int a, int b, string? name = null) => Add(new AddNode(), name, a, b);
    public int Flatten(int x, int axis = 1, string? name = null) => Add(new FlattenNode { Axis = axis }, name, x);
    public int Reshape(int x, int[] target, string? name = null) => Add(new ReshapeNode { Target = target }, name, x);
    public int Softmax(int x, int axis = -1, string? name = null) => Add(new SoftmaxNode { Axis = axis }, name, x);
    public int Concat(int axis, int[] inputs, string? name = null) => Add(new ConcatNode { Axis = axis }, name, inputs);
    public int Act(int x, Activation activation, string? name = null) => Add(new ActivationNode { Activation = activation }, name, x);
    public int LayerNorm(int x, TensorData scale, TensorData? bias, int axis = -1, float epsilon = 1e-5f, string? name = null)
        => Add(new LayerNormNode { Axis = axis, Epsilon = epsilon }, name, bias is null ? [x, Constant(scale)] : [x, Constant(scale), Constant(bias)]);
    public int Transpose(int x, int[] perm, string? name = null) => Add(new TransposeNode { Perm = perm }, name, x);

    private int[] LayerInputs(int x, TensorData weight, TensorData? bias)
        => bias is null ? [x, Constant(weight)] : [x, Constant(weight), Constant(bias)];

    /// <summary>Appends <paramref name="node"/>, infers its output shape and returns the output value id.</summary>
    public int Add(Node node, string? name, params int[] inputs)
    {
        node.Name = name ?? $"{node.Op.ToString().ToLowerInvariant()}_{_auto++}";
        node.Inputs = inputs;
        var shape = node.InferShape(inputs.Select(i => Graph.Values[i].Shape).ToList());
        node.Output = Graph.AddValue(node.Name + ":out", shape);
        Graph.Nodes.Add(node);
        return node.Output;
    }

    private static int[] Ones(int n) => Enumerable.Repeat(1, n).ToArray();
}
