using System.Runtime.CompilerServices;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Runtime.Engine.Ops;

/// <summary>
/// An fp32 op compiled once from its node and declared shapes; <see cref="Run"/> never allocates.
/// Each instance keeps scratch state, so it is used from one thread at a time. Outputs must not overlap
/// the inputs, except that an op may allow the output to be exactly one input (see <see cref="AllowsInPlace"/>).
/// </summary>
public abstract class FloatOp
{
    private readonly int[][] _inputShapes;
    private readonly int[] _outputShape;
    // Elements per batch item (batched shapes) or in total (static shapes); precomputed so the length
    // checks in Run are a multiply and a compare.
    private readonly long[] _inputPerItem;
    private readonly bool[] _inputBatched;
    private readonly long _outputPerItem;
    private readonly bool _outputBatched;

    /// <summary>Validates the node against the declared shapes (arity, shape inference must reproduce
    /// <paramref name="outputShape"/>) and precomputes the length checks.</summary>
    private protected FloatOp(Node node, IReadOnlyList<int[]> inputShapes, int[] outputShape)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(inputShapes);
        ArgumentNullException.ThrowIfNull(outputShape);
        Name = $"node '{node.Name}' ({node.Op})";
        var (min, max) = node.Arity;
        if (inputShapes.Count < min || inputShapes.Count > max)
            throw new EmaException($"{Name}: {inputShapes.Count} input shapes, expected {min}..{max}");
        _inputShapes = new int[inputShapes.Count][];
        _inputPerItem = new long[inputShapes.Count];
        _inputBatched = new bool[inputShapes.Count];
        for (int i = 0; i < inputShapes.Count; i++)
        {
            var s = inputShapes[i] ?? throw new EmaException($"{Name}: input shape {i} is missing");
            Shapes.Validate(s, $"{Name} input {i}", allowBatch: true);
            _inputShapes[i] = (int[])s.Clone();
            (_inputPerItem[i], _inputBatched[i]) = PerItem(s, Name);
        }
        Shapes.Validate(outputShape, $"{Name} output", allowBatch: true);
        // The engine's declared output shape must be what the node computes: a mismatch means a
        // corrupt plan, and every index computation below trusts these shapes.
        var inferred = node.InferShape(_inputShapes);
        if (!Shapes.SameAs(inferred, outputShape))
            throw new EmaException($"{Name}: declared output shape {Shapes.Format(outputShape)} differs from the inferred {Shapes.Format(inferred)}");
        _outputShape = (int[])outputShape.Clone();
        (_outputPerItem, _outputBatched) = PerItem(outputShape, Name);
    }

    /// <summary>"node 'name' (Op)": used in every error message.</summary>
    public string Name { get; }

    /// <summary>Copies of the declared input shapes (-1 at dim 0 is the symbolic batch).</summary>
    public int[] InputShape(int input) => (int[])_inputShapes[input].Clone();

    /// <summary>A copy of the declared output shape.</summary>
    public int[] OutputShape => (int[])_outputShape.Clone();

    /// <summary>Whether the output span may be exactly (same start, same length or longer) input <paramref name="input"/>.</summary>
    public virtual bool AllowsInPlace(int input) => false;

    /// <summary>Output elements written for <paramref name="batch"/> (the static count when the output has no batch).</summary>
    public long OutputLength(int batch) => _outputBatched ? _outputPerItem * batch : _outputPerItem;

    /// <summary>Elements read from input <paramref name="input"/> for <paramref name="batch"/>.</summary>
    public long InputLength(int input, int batch) => _inputBatched[input] ? _inputPerItem[input] * batch : _inputPerItem[input];

    /// <summary>
    /// Runs the op. <paramref name="inputs"/> are in node-input order; every symbolic batch dim (-1) in the
    /// declared shapes stands for <paramref name="batch"/>. Spans may be longer than needed (only the prefix
    /// is used). Throws <see cref="ArgumentException"/> naming the op and the lengths when a span is too short.
    /// </summary>
    public abstract void Run(ReadOnlySpan<ReadOnlyMemory<float>> inputs, Span<float> output, int batch);

    /// <summary>
    /// Builds the op for a node: <see cref="PoolNode"/>, <see cref="GlobalAveragePoolNode"/>, <see cref="AddNode"/>,
    /// <see cref="SoftmaxNode"/>, <see cref="ConcatNode"/>, <see cref="ActivationNode"/>, <see cref="LayerNormNode"/>,
    /// <see cref="TransposeNode"/>. Other node kinds (layers run
    /// by Algorithm 1; Flatten/Reshape, which are views) throw <see cref="EmaException"/> naming the node.
    /// </summary>
    public static FloatOp Create(Node node, IReadOnlyList<int[]> inputShapes, int[] outputShape)
    {
        ArgumentNullException.ThrowIfNull(node);
        return node switch
        {
            PoolNode p => new PoolOp(p, inputShapes, outputShape),
            GlobalAveragePoolNode g => new GlobalAveragePoolOp(g, inputShapes, outputShape),
            AddNode a => new AddOp(a, inputShapes, outputShape),
            SoftmaxNode s => new SoftmaxOp(s, inputShapes, outputShape),
            ConcatNode c => new ConcatOp(c, inputShapes, outputShape),
            ActivationNode a => new ActivationOp(a, inputShapes, outputShape),
            LayerNormNode l => new LayerNormOp(l, inputShapes, outputShape),
            TransposeNode t => new TransposeOp(t, inputShapes, outputShape),
            _ => throw new EmaException($"node '{node.Name}' ({node.Op}) has no fp32 op: only Pool, GlobalAveragePool, Add, Softmax, Concat, Activation, LayerNorm and Transpose nodes do"),
        };
    }

    /// <summary>
    /// Checks the spans once, before any element is touched: the input count, every length against the
    /// shapes at <paramref name="batch"/>, and overlap. Returns the resolved batch dim count for dim 0 of the
    /// output (batch when symbolic). Never allocates unless it throws.
    /// </summary>
    private protected void Check(ReadOnlySpan<ReadOnlyMemory<float>> inputs, Span<float> output, int batch)
    {
        if (batch < 0) ThrowBatch(batch);
        if (inputs.Length != _inputShapes.Length) ThrowCount(inputs.Length);
        for (int i = 0; i < inputs.Length; i++)
        {
            long need = InputLength(i, batch);
            var span = inputs[i].Span;
            if (span.Length < need) ThrowShort($"input {i}", span.Length, need, batch);
            if (span.Overlaps(output, out int offset) && !(offset == 0 && AllowsInPlace(i)))
                ThrowOverlap(i);
        }
        long outNeed = OutputLength(batch);
        if (output.Length < outNeed) ThrowShort("output", output.Length, outNeed, batch);
    }

    private static (long PerItem, bool Batched) PerItem(int[] shape, string where)
    {
        bool batched = shape.Length > 0 && shape[0] == Shapes.Batch;
        return (Shapes.Elements(shape.AsSpan(batched ? 1 : 0), where), batched);
    }

    // Throw helpers keep the message formatting (which allocates) off the hot path.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowBatch(int batch) =>
        throw new ArgumentOutOfRangeException(nameof(batch), batch, $"{Name}: batch must be >= 0");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowCount(int got) =>
        throw new ArgumentException($"{Name}: {got} inputs given, the op has {_inputShapes.Length}", "inputs");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowShort(string what, int got, long need, int batch) =>
        throw new ArgumentException($"{Name}: {what} has {got} elements, needs {need} at batch {batch}",
            what == "output" ? "output" : "inputs");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowOverlap(int input) =>
        throw new ArgumentException($"{Name}: the output overlaps input {input}, which this op does not allow", "output");

    /// <summary>Product of dims [from, to) of a shape whose dim 0 may be symbolic (resolved to <paramref name="batch"/>).</summary>
    private protected static long Product(int[] shape, int from, int to, int batch)
    {
        long p = 1;
        for (int i = from; i < to; i++) p *= shape[i] == Shapes.Batch ? batch : shape[i];
        return p;
    }
}
