namespace EdgeMixedAccum.Graph;

/// <summary>Operator codes. Stored in .ema files: never renumber, only append.</summary>
public enum OpKind : byte
{
    Dense = 1,
    Conv = 2,
    MaxPool = 3,
    AveragePool = 4,
    GlobalAveragePool = 5,
    Add = 6,
    Flatten = 7,
    Reshape = 8,
    Softmax = 9,
    Concat = 10,
    Activation = 11,
    /// <summary>Format 1.1: layer normalisation over the trailing dims, computed in fp32.</summary>
    LayerNorm = 12,
    /// <summary>Format 1.1: permutation of the dims (NHWC/NCHW at a graph's ends).</summary>
    Transpose = 13,
}

/// <summary>
/// One operation of the graph. Every op has one output value; inputs are value ids (graph inputs,
/// constants or outputs of earlier nodes). Shape inference is the op's own.
/// </summary>
public abstract class Node
{
    public string Name { get; set; } = "";
    public int[] Inputs { get; set; } = [];
    public int Output { get; set; }
    public abstract OpKind Op { get; }
    /// <summary>Allowed number of inputs (inclusive).</summary>
    public abstract (int Min, int Max) Arity { get; }

    /// <summary>
    /// The output shape from the input shapes (which may carry a symbolic batch at dim 0); throws
    /// <see cref="EmaException"/> naming the node when the inputs do not fit the op.
    /// </summary>
    public abstract int[] InferShape(IReadOnlyList<int[]> inputs);

    protected internal string Where => $"node '{Name}' ({Op})";
    protected internal EmaException Fail(string what) => new($"{Where}: {what}");

    /// <summary>A computed dimension as an int; one that does not fit fails naming the node (a crafted
    /// file can carry dims whose sum or product overflows).</summary>
    protected internal int Dim(long value) => value <= int.MaxValue ? (int)value : throw Fail($"dimension {value} exceeds {int.MaxValue}");

    public override string ToString() => $"{Op} '{Name}'";
}

/// <summary>A layer whose outputs are inner products: Algorithm 1 runs on it.</summary>
public abstract class LayerNode : Node
{
    /// <summary>The activation fused into this layer's output write.</summary>
    public Activation Activation { get; set; } = Activation.Identity;
    public LayerPlan Plan { get; set; } = LayerPlan.Fp32;
    public int X => Inputs[0];
    public int Weight => Inputs[1];
    /// <summary>The bias value id, or -1.</summary>
    public int Bias => Inputs.Length > 2 ? Inputs[2] : -1;
    public override (int Min, int Max) Arity => (2, 3);

    protected void CheckBias(IReadOnlyList<int[]> inputs, int outChannels)
    {
        if (inputs.Count > 2 && !(inputs[2].Length == 1 && inputs[2][0] == outChannels))
            throw Fail($"bias shape {Shapes.Format(inputs[2])} is not [{outChannels}]");
    }
}

/// <summary>y = phi(x W^T + b): W is [M, K] (row i produces output i), x is [..., K], y is [..., M].</summary>
public sealed class DenseNode : LayerNode
{
    public override OpKind Op => OpKind.Dense;

    public override int[] InferShape(IReadOnlyList<int[]> inputs)
    {
        var x = inputs[0]; var w = inputs[1];
        if (w.Length != 2) throw Fail($"weight must be rank 2 [M, K], got {Shapes.Format(w)}");
        if (x.Length < 1 || x[^1] != w[1])
            throw Fail($"input {Shapes.Format(x)} does not end in K = {w[1]} of weight {Shapes.Format(w)}");
        CheckBias(inputs, w[0]);
        var y = (int[])x.Clone();
        y[^1] = w[0];
        return y;
    }
}

/// <summary>
/// 1D ([N, C, L]) or 2D ([N, C, H, W]) convolution, ONNX semantics: weight [M, C/groups, k...],
/// pads in ONNX order (all begins, then all ends), strides and dilations per spatial dim.
/// </summary>
public sealed class ConvNode : LayerNode
{
    public override OpKind Op => OpKind.Conv;
    public int[] Strides { get; set; } = [];
    public int[] Pads { get; set; } = [];
    public int[] Dilations { get; set; } = [];
    public int Groups { get; set; } = 1;

    public override int[] InferShape(IReadOnlyList<int[]> inputs)
    {
        var x = inputs[0]; var w = inputs[1];
        int sp = x.Length - 2;
        if (sp is not (1 or 2)) throw Fail($"input must be [N, C, L] or [N, C, H, W], got {Shapes.Format(x)}");
        if (w.Length != x.Length) throw Fail($"weight {Shapes.Format(w)} rank does not match input {Shapes.Format(x)}");
        if (Groups < 1) throw Fail($"groups must be >= 1, got {Groups}");
        int c = x[1], m = w[0];
        if (c % Groups != 0 || m % Groups != 0) throw Fail($"channels in {c} and out {m} must be divisible by groups {Groups}");
        if (w[1] != c / Groups) throw Fail($"weight {Shapes.Format(w)} expects {w[1] * Groups} input channels, input has {c}");
        CheckBias(inputs, m);
        var kernel = w.AsSpan(2).ToArray();
        var y = new int[x.Length];
        y[0] = x[0]; y[1] = m;
        SpatialOutput(x.AsSpan(2), kernel, Strides, Pads, Dilations, ceil: false, y.AsSpan(2), this);
        return y;
    }

    /// <summary>
    /// ONNX output length of a conv or pool window sliding over one spatial dim, or 0 when the kernel extent
    /// exceeds the padded input. In ceil mode the last window must start inside the input or its left padding.
    /// </summary>
    public static long OutputDim(int inDim, int kernel, int stride, int padBegin, int padEnd, int dilation, bool ceil)
    {
        long span = (long)dilation * (kernel - 1) + 1;
        long padded = (long)inDim + padBegin + padEnd;
        if (padded < span) return 0;
        long o = ceil ? (padded - span + stride - 1) / stride + 1 : (padded - span) / stride + 1;
        if (ceil && (o - 1) * stride >= (long)inDim + padBegin) o--;
        return o;
    }

    internal static void SpatialOutput(ReadOnlySpan<int> inDims, int[] kernel, int[] strides, int[] pads, int[] dilations,
        bool ceil, Span<int> outDims, Node node)
    {
        int sp = inDims.Length;
        if (kernel.Length != sp) throw node.Fail($"kernel has {kernel.Length} dims for {sp} spatial dims");
        if (strides.Length != sp) throw node.Fail($"strides {Shapes.Format(strides)} must have {sp} entries");
        if (dilations.Length != sp) throw node.Fail($"dilations {Shapes.Format(dilations)} must have {sp} entries");
        if (pads.Length != 2 * sp) throw node.Fail($"pads {Shapes.Format(pads)} must have {2 * sp} entries");
        for (int i = 0; i < sp; i++)
        {
            if (kernel[i] < 1 || strides[i] < 1 || dilations[i] < 1 || pads[i] < 0 || pads[i + sp] < 0)
                throw node.Fail($"kernel {Shapes.Format(kernel)}, strides {Shapes.Format(strides)}, dilations {Shapes.Format(dilations)} must be >= 1 and pads {Shapes.Format(pads)} >= 0");
            long o = OutputDim(inDims[i], kernel[i], strides[i], pads[i], pads[i + sp], dilations[i], ceil);
            if (o < 1)
                throw node.Fail($"kernel extent {(long)dilations[i] * (kernel[i] - 1) + 1} exceeds padded input {(long)inDims[i] + pads[i] + pads[i + sp]} in spatial dim {i}");
            outDims[i] = node.Dim(o);
        }
    }
}

/// <summary>MaxPool / AveragePool over 1D or 2D spatial dims, ONNX semantics.</summary>
public sealed class PoolNode : Node
{
    public PoolNode(bool max) { IsMax = max; }
    public bool IsMax { get; }
    public override OpKind Op => IsMax ? OpKind.MaxPool : OpKind.AveragePool;
    public override (int Min, int Max) Arity => (1, 1);
    public int[] Kernel { get; set; } = [];
    public int[] Strides { get; set; } = [];
    public int[] Pads { get; set; } = [];
    public int[] Dilations { get; set; } = [];
    public bool CeilMode { get; set; }
    /// <summary>AveragePool only: divide by the full window (true) or by the valid elements (false).</summary>
    public bool CountIncludePad { get; set; }

    public override int[] InferShape(IReadOnlyList<int[]> inputs)
    {
        var x = inputs[0];
        int sp = x.Length - 2;
        if (sp is not (1 or 2)) throw Fail($"input must be [N, C, L] or [N, C, H, W], got {Shapes.Format(x)}");
        var y = new int[x.Length];
        y[0] = x[0]; y[1] = x[1];
        ConvNode.SpatialOutput(x.AsSpan(2), Kernel, Strides, Pads, Dilations, CeilMode, y.AsSpan(2), this);
        return y;
    }
}

/// <summary>Mean over all spatial dims: [N, C, ...] to [N, C, 1, ...].</summary>
public sealed class GlobalAveragePoolNode : Node
{
    public override OpKind Op => OpKind.GlobalAveragePool;
    public override (int Min, int Max) Arity => (1, 1);

    public override int[] InferShape(IReadOnlyList<int[]> inputs)
    {
        var x = inputs[0];
        if (x.Length < 3) throw Fail($"input must have spatial dims, got {Shapes.Format(x)}");
        var y = (int[])x.Clone();
        for (int i = 2; i < y.Length; i++) y[i] = 1;
        return y;
    }
}

/// <summary>Element-wise sum with numpy broadcasting (residual connections, bias adds).</summary>
public sealed class AddNode : Node
{
    public override OpKind Op => OpKind.Add;
    public override (int Min, int Max) Arity => (2, 2);

    public override int[] InferShape(IReadOnlyList<int[]> inputs) => Broadcast(inputs[0], inputs[1], this);

    internal static int[] Broadcast(int[] a, int[] b, Node node)
    {
        int r = Math.Max(a.Length, b.Length);
        var y = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i - (r - a.Length) >= 0 ? a[i - (r - a.Length)] : 1;
            int db = i - (r - b.Length) >= 0 ? b[i - (r - b.Length)] : 1;
            if (da == db) y[i] = da;
            else if (da == 1) y[i] = db;
            else if (db == 1) y[i] = da;
            else throw node.Fail($"shapes {Shapes.Format(a)} and {Shapes.Format(b)} do not broadcast");
            if (y[i] == Shapes.Batch && i != 0) throw node.Fail($"symbolic batch lands in dim {i} when broadcasting {Shapes.Format(a)} and {Shapes.Format(b)}");
        }
        return y;
    }
}

/// <summary>ONNX Flatten: [d0..d(axis-1)] and [d(axis)..] become two dims.</summary>
public sealed class FlattenNode : Node
{
    public override OpKind Op => OpKind.Flatten;
    public override (int Min, int Max) Arity => (1, 1);
    public int Axis { get; set; } = 1;

    public override int[] InferShape(IReadOnlyList<int[]> inputs)
    {
        var x = inputs[0];
        int axis = Axis < 0 ? Axis + x.Length : Axis;
        if (axis < 0 || axis > x.Length) throw Fail($"axis {Axis} out of range for {Shapes.Format(x)}");
        int outer = ProductWithBatch(x.AsSpan(0, axis), this);
        long inner = Shapes.Elements(x.AsSpan(axis), Where);
        return [outer, Dim(inner)];
    }

    /// <summary>Product of dims where a symbolic batch may stand alone or with dims of size 1.</summary>
    internal static int ProductWithBatch(ReadOnlySpan<int> dims, Node node)
    {
        bool batch = dims.Length > 0 && dims[0] == Shapes.Batch;
        long p = Shapes.Elements(dims[(batch ? 1 : 0)..], node.Where);
        if (!batch) return node.Dim(p);
        if (p != 1) throw node.Fail($"cannot merge the symbolic batch with static dims {Shapes.Format(dims)}");
        return Shapes.Batch;
    }
}

/// <summary>Reshape to a static target, ONNX semantics: 0 copies the input dim, -1 is inferred.</summary>
public sealed class ReshapeNode : Node
{
    public override OpKind Op => OpKind.Reshape;
    public override (int Min, int Max) Arity => (1, 1);
    public int[] Target { get; set; } = [];

    public override int[] InferShape(IReadOnlyList<int[]> inputs)
    {
        var x = inputs[0];
        var y = (int[])Target.Clone();
        int infer = -1;
        for (int i = 0; i < y.Length; i++)
        {
            if (y[i] == 0)
            {
                if (i >= x.Length) throw Fail($"target {Shapes.Format(Target)} copies dim {i} that input {Shapes.Format(x)} lacks");
                y[i] = x[i];
                if (y[i] == Shapes.Batch && i != 0) throw Fail("symbolic batch would move off dim 0");
            }
            else if (y[i] == -1)
            {
                if (infer >= 0) throw Fail($"target {Shapes.Format(Target)} has more than one -1");
                infer = i;
            }
            else if (y[i] < 0) throw Fail($"target {Shapes.Format(Target)} has negative dim {y[i]}");
        }
        bool xBatch = x.Length > 0 && x[0] == Shapes.Batch;
        long inTotal = Shapes.Elements(x.AsSpan(xBatch ? 1 : 0), Where);
        bool yBatch = y.Length > 0 && y[0] == Shapes.Batch && infer != 0;
        long known = 1;
        for (int i = yBatch ? 1 : 0; i < y.Length; i++)
        {
            if (i == infer) continue;
            known *= y[i]; // both factors <= 2^31 while known <= MaxElements: no overflow
            if (known > Shapes.MaxElements) throw Fail($"target {Shapes.Format(Target)} has more than {Shapes.MaxElements} elements");
        }
        if (infer >= 0)
        {
            if (xBatch && !yBatch)
            {
                // The inferred dim absorbs the batch: allowed only when it is the leading dim.
                if (infer != 0 || known != inTotal) throw Fail($"cannot reshape {Shapes.Format(x)} to {Shapes.Format(Target)} with a symbolic batch");
                y[0] = Shapes.Batch;
                return y;
            }
            if (known == 0 || inTotal % known != 0) throw Fail($"cannot reshape {Shapes.Format(x)} ({inTotal} elements) to {Shapes.Format(Target)}");
            y[infer] = Dim(inTotal / known);
            known = inTotal;
        }
        if (xBatch != yBatch || known != inTotal)
            throw Fail($"cannot reshape {Shapes.Format(x)} to {Shapes.Format(Target)}: element counts differ");
        return y;
    }
}

/// <summary>Softmax along one axis (opset 13 semantics).</summary>
public sealed class SoftmaxNode : Node
{
    public override OpKind Op => OpKind.Softmax;
    public override (int Min, int Max) Arity => (1, 1);
    public int Axis { get; set; } = -1;

    public override int[] InferShape(IReadOnlyList<int[]> inputs)
    {
        var x = inputs[0];
        int axis = Axis < 0 ? Axis + x.Length : Axis;
        if (axis < 0 || axis >= x.Length) throw Fail($"axis {Axis} out of range for {Shapes.Format(x)}");
        if (x[axis] == Shapes.Batch) throw Fail("softmax over the batch dimension is not supported");
        return (int[])x.Clone();
    }
}

/// <summary>Concatenation along one axis; all other dims must match.</summary>
public sealed class ConcatNode : Node
{
    public override OpKind Op => OpKind.Concat;
    public override (int Min, int Max) Arity => (1, 64);
    public int Axis { get; set; } = 1;

    public override int[] InferShape(IReadOnlyList<int[]> inputs)
    {
        var first = inputs[0];
        int axis = Axis < 0 ? Axis + first.Length : Axis;
        if (axis < 0 || axis >= first.Length) throw Fail($"axis {Axis} out of range for {Shapes.Format(first)}");
        var y = (int[])first.Clone();
        if (y[axis] == Shapes.Batch) throw Fail("concatenation along the batch dimension is not supported");
        for (int k = 1; k < inputs.Count; k++)
        {
            var s = inputs[k];
            if (s.Length != first.Length) throw Fail($"input {k} rank {s.Length} differs from {first.Length}");
            for (int i = 0; i < s.Length; i++)
                if (i != axis && s[i] != first[i]) throw Fail($"input {k} {Shapes.Format(s)} differs from {Shapes.Format(first)} off axis {axis}");
            if (s[axis] == Shapes.Batch) throw Fail($"input {k} has the symbolic batch on axis {axis}: concatenation along the batch dimension is not supported");
            y[axis] = Dim((long)y[axis] + s[axis]);
        }
        return y;
    }
}

/// <summary>A stand-alone element-wise activation (one not fused into a layer).</summary>
public sealed class ActivationNode : Node
{
    public override OpKind Op => OpKind.Activation;
    public override (int Min, int Max) Arity => (1, 1);
    public Activation Activation { get; set; } = Activation.Identity;

    public override int[] InferShape(IReadOnlyList<int[]> inputs) => (int[])inputs[0].Clone();
}

/// <summary>
/// ONNX LayerNormalization (opset 17), also the fused form of the decomposed pattern older exporters emit:
/// y = (x - mean) / sqrt(var + epsilon) * scale + bias, mean and (biased) variance over the dims from
/// <see cref="Axis"/> on. Scale and bias have exactly the normalised shape (the converter expands broadcasts).
/// Not a layer: no inner products, nothing for Algorithm 1; the runtime computes it in fp32.
/// </summary>
public sealed class LayerNormNode : Node
{
    public override OpKind Op => OpKind.LayerNorm;
    public override (int Min, int Max) Arity => (2, 3);
    public int Axis { get; set; } = -1;
    public float Epsilon { get; set; } = 1e-5f;

    /// <summary>The first normalised dim for an input of rank <paramref name="rank"/>.</summary>
    public int FirstAxis(int rank) => Axis < 0 ? Axis + rank : Axis;

    public override int[] InferShape(IReadOnlyList<int[]> inputs)
    {
        var x = inputs[0];
        int axis = FirstAxis(x.Length);
        // The batch must not be normalised over: the statistics are per sample.
        if (axis < 1 || axis >= x.Length) throw Fail($"axis {Axis} must select trailing dims after dim 0 of {Shapes.Format(x)}");
        if (!(Epsilon >= 0) || !float.IsFinite(Epsilon)) throw Fail($"epsilon {Epsilon} must be finite and >= 0");
        var norm = x.AsSpan(axis);
        for (int k = 1; k < inputs.Count; k++)
            if (!inputs[k].AsSpan().SequenceEqual(norm))
                throw Fail($"{(k == 1 ? "scale" : "bias")} shape {Shapes.Format(inputs[k])} is not the normalised shape {Shapes.Format(norm.ToArray())}");
        return (int[])x.Clone();
    }
}

/// <summary>
/// ONNX Transpose: y.shape[i] = x.shape[Perm[i]]. With a symbolic batch, Perm[0] must be 0 (the batch stays in
/// dim 0): enough for the NHWC/NCHW conversions tf2onnx leaves at a graph's start and end.
/// </summary>
public sealed class TransposeNode : Node
{
    public override OpKind Op => OpKind.Transpose;
    public override (int Min, int Max) Arity => (1, 1);
    public int[] Perm { get; set; } = [];

    public override int[] InferShape(IReadOnlyList<int[]> inputs)
    {
        var x = inputs[0];
        if (Perm.Length != x.Length) throw Fail($"perm {Shapes.Format(Perm)} has {Perm.Length} entries for input {Shapes.Format(x)}");
        var seen = new bool[x.Length];
        var y = new int[x.Length];
        for (int i = 0; i < Perm.Length; i++)
        {
            int p = Perm[i];
            if ((uint)p >= (uint)x.Length || seen[p]) throw Fail($"perm {Shapes.Format(Perm)} is not a permutation of 0..{x.Length - 1}");
            seen[p] = true;
            y[i] = x[p];
        }
        if (x.Length > 0 && x[0] == Shapes.Batch && Perm[0] != 0) throw Fail($"perm {Shapes.Format(Perm)} moves the symbolic batch off dim 0");
        return y;
    }
}
