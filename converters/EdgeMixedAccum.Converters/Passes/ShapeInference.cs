using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Converters.Passes;

/// <summary>Shape arithmetic shared by shape inference and constant folding (ONNX semantics, static shapes).</summary>
internal static class ShapeMath
{
    public static bool IsStatic(int[]? s) => s is not null && s.All(d => d >= 0);

    public static int NormAxis(long axis, int rank, ImportNode n, string what = "axis")
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw n.Fail($"{what} {axis} is out of range for rank {rank}");
        return (int)a;
    }

    public static int[] Broadcast(int[] a, int[] b, ImportNode n)
    {
        int r = Math.Max(a.Length, b.Length);
        var y = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i - (r - a.Length) >= 0 ? a[i - (r - a.Length)] : 1;
            int db = i - (r - b.Length) >= 0 ? b[i - (r - b.Length)] : 1;
            if (da == db || db == 1) y[i] = da;
            else if (da == 1) y[i] = db;
            else throw n.Fail($"shapes {Shapes.Format(a)} and {Shapes.Format(b)} do not broadcast");
        }
        return y;
    }

    /// <summary>Reshape target with ONNX 0 (copy, unless allowzero) and -1 (infer).</summary>
    public static int[] Reshape(int[] x, long[] target, bool allowZero, ImportNode n)
    {
        var y = new int[target.Length];
        int infer = -1;
        long known = 1;
        for (int i = 0; i < y.Length; i++)
        {
            long t = target[i];
            if (t == 0 && !allowZero)
            {
                if (i >= x.Length) throw n.Fail($"target {Fmt(target)} copies dim {i} that input {Shapes.Format(x)} lacks");
                t = x[i];
            }
            if (t == -1)
            {
                if (infer >= 0) throw n.Fail($"target {Fmt(target)} has more than one -1");
                infer = i;
                continue;
            }
            if (t < 0 || t > int.MaxValue) throw n.Fail($"target {Fmt(target)} has invalid dim {target[i]}");
            y[i] = (int)t;
            known = checked(known * t);
        }
        long total = Shapes.Elements(x, n.Where);
        if (infer >= 0)
        {
            if (known == 0 || total % known != 0) throw n.Fail($"cannot reshape {Shapes.Format(x)} to {Fmt(target)}");
            y[infer] = checked((int)(total / known));
        }
        else if (known != total) throw n.Fail($"cannot reshape {Shapes.Format(x)} ({total} elements) to {Fmt(target)}");
        return y;
    }

    public static int[] Unsqueeze(int[] x, long[] axes, ImportNode n)
    {
        int r = x.Length + axes.Length;
        var mark = new bool[r];
        foreach (long a in axes)
        {
            int k = NormAxis(a, r, n, "unsqueeze axis");
            if (mark[k]) throw n.Fail($"axis {a} is repeated in {Fmt(axes)}");
            mark[k] = true;
        }
        var y = new int[r];
        for (int i = 0, j = 0; i < r; i++) y[i] = mark[i] ? 1 : x[j++];
        return y;
    }

    public static int[] Squeeze(int[] x, long[]? axes, ImportNode n)
    {
        var drop = new bool[x.Length];
        if (axes is null)
        {
            for (int i = 0; i < x.Length; i++) drop[i] = x[i] == 1;
        }
        else
        {
            foreach (long a in axes)
            {
                int k = NormAxis(a, x.Length, n, "squeeze axis");
                if (x[k] != 1) throw n.Fail($"cannot squeeze dim {k} of {Shapes.Format(x)}: it is not 1");
                drop[k] = true;
            }
        }
        return x.Where((_, i) => !drop[i]).ToArray();
    }

    public static int[] Flatten(int[] x, long axis, ImportNode n)
    {
        long a = axis < 0 ? axis + x.Length : axis;
        if (a < 0 || a > x.Length) throw n.Fail($"axis {axis} is out of range for {Shapes.Format(x)}");
        return [checked((int)Shapes.Elements(x.AsSpan(0, (int)a), n.Where)), checked((int)Shapes.Elements(x.AsSpan((int)a), n.Where))];
    }

    public static int[] Concat(IReadOnlyList<int[]> xs, long axis, ImportNode n)
    {
        if (xs.Count == 0) throw n.Fail("has no inputs");
        var first = xs[0];
        int a = NormAxis(axis, first.Length, n);
        var y = (int[])first.Clone();
        for (int k = 1; k < xs.Count; k++)
        {
            var s = xs[k];
            if (s.Length != first.Length) throw n.Fail($"input {k} rank {s.Length} differs from {first.Length}");
            for (int i = 0; i < s.Length; i++)
                if (i != a && s[i] != first[i]) throw n.Fail($"input {k} {Shapes.Format(s)} differs from {Shapes.Format(first)} off axis {a}");
            y[a] = checked(y[a] + s[a]);
        }
        return y;
    }

    public static int[] Transpose(int[] x, int[]? perm, ImportNode n)
    {
        perm ??= Enumerable.Range(0, x.Length).Reverse().ToArray();
        if (perm.Length != x.Length || perm.Distinct().Count() != perm.Length || perm.Any(p => p < 0 || p >= x.Length))
            throw n.Fail($"perm {Shapes.Format(perm)} is not a permutation of rank {x.Length}");
        return perm.Select(p => x[p]).ToArray();
    }

    /// <summary>numpy matmul shape (rank-1 operands promoted and the added dim removed).</summary>
    public static int[] MatMul(int[] a, int[] b, ImportNode n)
    {
        if (a.Length == 0 || b.Length == 0) throw n.Fail("operands must have rank >= 1");
        var a2 = a.Length == 1 ? new[] { 1, a[0] } : a;
        var b2 = b.Length == 1 ? new[] { b[0], 1 } : b;
        if (a2[^1] != b2[^2]) throw n.Fail($"shapes {Shapes.Format(a)} and {Shapes.Format(b)} do not multiply");
        var batch = Broadcast(a2[..^2], b2[..^2], n);
        var y = new List<int>(batch);
        if (a.Length > 1) y.Add(a2[^2]);
        if (b.Length > 1) y.Add(b2[^1]);
        return y.ToArray();
    }

    /// <summary>Axes from the attribute (opset &lt; 13) or the constant input <paramref name="input"/> (opset &gt;= 13).</summary>
    public static long[]? Axes(ImportNode n, ImportGraph g, int input, bool required)
    {
        long[]? axes;
        if (g.Opset < 13) axes = n.Ints("axes");
        else if (!n.HasInput(input)) axes = null;
        else
        {
            var c = g.TryConstant(n.Input(input)) ?? throw n.Fail($"axes input '{n.Input(input)}' must be a constant");
            axes = c.ToIntArray($"{n.Where}: axes");
        }
        if (axes is null && required) throw n.Fail(g.Opset < 13 ? "attribute 'axes' is required" : "input 'axes' is required");
        return axes;
    }

    public static string Fmt(long[] v) => "[" + string.Join(", ", v) + "]";
}

/// <summary>Static shape inference for one node of the import IR; concrete shapes only.</summary>
public static class ShapeInference
{
    /// <summary>
    /// The output shapes of <paramref name="n"/>, or null when an input shape is unknown or not static.
    /// Throws <see cref="EmaException"/> naming the node when the inputs do not fit the op, or when the op
    /// cannot run on runtime tensors.
    /// </summary>
    public static int[][]? InferNode(ImportNode n, ImportGraph g)
    {
        var ins = new int[n.Inputs.Count][];
        for (int i = 0; i < ins.Length; i++)
        {
            if (!n.HasInput(i)) { ins[i] = []; continue; }
            var s = g.TryShape(n.Input(i));
            if (!ShapeMath.IsStatic(s)) return null;
            ins[i] = s!;
        }
        if (ins.Length == 0 && n.OpType != "Constant") throw n.Fail("has no inputs");
        int[] Same() => (int[])ins[0].Clone();
        int[] one = n.OpType switch
        {
            "Identity" or "Dropout" or "Relu" or "LeakyRelu" or "Tanh" or "Sigmoid" or "Gelu" or "Erf" or "Clip" or ImportOps.Silu
                or "Neg" or "Sqrt" or "Cast" or "Softmax" or LayerNormFusionPass.Op => Same(),
            "Pow" or "Max" or "Min" => ShapeMath.Broadcast(Arg(n, ins, 0), Arg(n, ins, 1), n),
            "ReduceMean" => ReduceMean(n, g, ins[0]),
            "BatchNormalization" => BatchNorm(n, ins),
            "Add" or "Sub" or "Mul" or "Div" => ShapeMath.Broadcast(Arg(n, ins, 0), Arg(n, ins, 1), n),
            "Gemm" => Gemm(n, ins),
            "MatMul" => ShapeMath.MatMul(Arg(n, ins, 0), Arg(n, ins, 1), n),
            ImportOps.Dense => Dense(n, ins),
            "Conv" => Conv(n, ins),
            "MaxPool" or "AveragePool" => Pool(n, ins),
            "GlobalAveragePool" => GlobalPool(n, ins),
            "Pad" => PadShape(n, g, ins),
            "Flatten" => ShapeMath.Flatten(ins[0], n.Int("axis", 1), n),
            "Reshape" => ShapeMath.Reshape(ins[0], ConstInput(n, g, 1, "shape").ToIntArray($"{n.Where}: shape"), n.Int("allowzero", 0) != 0, n),
            "Unsqueeze" => ShapeMath.Unsqueeze(ins[0], ShapeMath.Axes(n, g, 1, required: true)!, n),
            "Squeeze" => ShapeMath.Squeeze(ins[0], ShapeMath.Axes(n, g, 1, required: false), n),
            "Concat" => ShapeMath.Concat(ins.Where((_, i) => n.HasInput(i)).ToList(), n.Int("axis", long.MinValue) is var a && a == long.MinValue ? throw n.Fail("attribute 'axis' is required") : a, n),
            "Transpose" => ShapeMath.Transpose(ins[0], n.IntArray("perm"), n),
            _ => throw n.Fail($"shape inference does not know {n.OpType} on runtime tensors (only constant-foldable uses are supported)"),
        };
        // Ops with extra outputs give them the main output's shape when they can be read at all.
        var r = new int[n.Outputs.Count][];
        for (int k = 0; k < r.Length; k++) r[k] = k == 0 ? one : (int[])one.Clone();
        return r;
    }

    private static int[] Arg(ImportNode n, int[][] ins, int i)
    {
        if (i >= ins.Length || !n.HasInput(i)) throw n.Fail($"input {i} is required");
        return ins[i];
    }

    private static ConstTensor ConstInput(ImportNode n, ImportGraph g, int i, string what)
    {
        if (!n.HasInput(i)) throw n.Fail($"input '{what}' is required");
        return g.TryConstant(n.Input(i)) ?? throw n.Fail($"input '{what}' ('{n.Input(i)}') must be a constant (after constant folding)");
    }

    private static int[] BatchNorm(ImportNode n, int[][] ins)
    {
        var x = ins[0];
        if (x.Length < 2) throw n.Fail($"input {Shapes.Format(x)} has no channel dim");
        for (int i = 1; i <= 4; i++)
        {
            var p = Arg(n, ins, i);
            if (p.Length != 1 || p[0] != x[1]) throw n.Fail($"parameter {i} shape {Shapes.Format(p)} is not [{x[1]}]");
        }
        return (int[])x.Clone();
    }

    private static int[] Gemm(ImportNode n, int[][] ins)
    {
        var a = Arg(n, ins, 0); var b = Arg(n, ins, 1);
        if (a.Length != 2 || b.Length != 2) throw n.Fail($"A {Shapes.Format(a)} and B {Shapes.Format(b)} must have rank 2");
        bool ta = n.Int("transA", 0) != 0, tb = n.Int("transB", 0) != 0;
        int m = ta ? a[1] : a[0], k = ta ? a[0] : a[1];
        int kb = tb ? b[1] : b[0], nn = tb ? b[0] : b[1];
        if (k != kb) throw n.Fail($"A {Shapes.Format(a)} (transA={(ta ? 1 : 0)}) and B {Shapes.Format(b)} (transB={(tb ? 1 : 0)}) do not multiply");
        int[] y = [m, nn];
        if (n.HasInput(2) && !ShapeMath.Broadcast(y, ins[2], n).AsSpan().SequenceEqual(y))
            throw n.Fail($"C {Shapes.Format(ins[2])} does not broadcast to [{m}, {nn}]");
        return y;
    }

    private static int[] Dense(ImportNode n, int[][] ins)
    {
        var x = ins[0]; var w = Arg(n, ins, 1);
        if (w.Length != 2) throw n.Fail($"weight {Shapes.Format(w)} must be [M, K]");
        if (x.Length < 1 || x[^1] != w[1]) throw n.Fail($"input {Shapes.Format(x)} does not end in K = {w[1]}");
        if (n.HasInput(2) && !(ins[2].Length == 1 && ins[2][0] == w[0])) throw n.Fail($"bias {Shapes.Format(ins[2])} is not [{w[0]}]");
        var y = (int[])x.Clone();
        y[^1] = w[0];
        return y;
    }

    private static int[] Conv(ImportNode n, int[][] ins)
    {
        var x = ins[0]; var w = Arg(n, ins, 1);
        if (x.Length is not (3 or 4)) throw n.Fail($"input {Shapes.Format(x)} must be [N, C, L] or [N, C, H, W] (1D or 2D convolution)");
        if (w.Length != x.Length) throw n.Fail($"weight {Shapes.Format(w)} rank differs from input {Shapes.Format(x)}");
        long groups = n.Int("group", 1);
        if (groups < 1 || x[1] % groups != 0 || w[0] % groups != 0 || w[1] * groups != x[1])
            throw n.Fail($"weight {Shapes.Format(w)} with group {groups} does not fit input {Shapes.Format(x)}");
        if (n.HasInput(2) && !(ins[2].Length == 1 && ins[2][0] == w[0])) throw n.Fail($"bias {Shapes.Format(ins[2])} is not [{w[0]}]");
        var geo = SpatialGeometry.Resolve(n, x.AsSpan(2), w[2..]);
        return [x[0], w[0], .. geo.OutDims];
    }

    private static int[] Pool(ImportNode n, int[][] ins)
    {
        var x = ins[0];
        if (x.Length is not (3 or 4)) throw n.Fail($"input {Shapes.Format(x)} must be [N, C, L] or [N, C, H, W]");
        var geo = SpatialGeometry.Resolve(n, x.AsSpan(2), null);
        return [x[0], x[1], .. geo.OutDims];
    }

    private static int[] PadShape(ImportNode n, ImportGraph g, int[][] ins)
    {
        var pads = PadFoldingPass.Pads(g, n, out int rank);
        var y = (int[])ins[0].Clone();
        for (int i = 2; i < rank; i++) y[i] = checked((int)(y[i] + pads[i] + pads[rank + i]));
        return y;
    }

    /// <summary>ReduceMean: axes attribute before opset 18, optional constant input from 18; none = all dims.</summary>
    private static int[] ReduceMean(ImportNode n, ImportGraph g, int[] x)
    {
        long[]? axes = g.Opset < 18 ? n.Ints("axes") : n.HasInput(1) ? ConstInput(n, g, 1, "axes").ToIntArray($"{n.Where}: axes") : null;
        if (axes is { Length: 0 }) axes = null;
        if (axes is null && g.Opset >= 18 && n.Int("noop_with_empty_axes", 0) != 0) return (int[])x.Clone();
        var reduce = new bool[x.Length];
        foreach (long a in axes ?? Enumerable.Range(0, x.Length).Select(i => (long)i)) reduce[ShapeMath.NormAxis(a, x.Length, n, "axis")] = true;
        bool keep = n.Int("keepdims", 1) != 0;
        var y = new List<int>();
        for (int d = 0; d < x.Length; d++)
            if (!reduce[d]) y.Add(x[d]);
            else if (keep) y.Add(1);
        return y.ToArray();
    }

    private static int[] GlobalPool(ImportNode n, int[][] ins)
    {
        var x = ins[0];
        if (x.Length < 3) throw n.Fail($"input {Shapes.Format(x)} has no spatial dims");
        var y = (int[])x.Clone();
        for (int i = 2; i < y.Length; i++) y[i] = 1;
        return y;
    }
}

/// <summary>
/// Infers the static shape of every runtime value from the graph input shapes, which must be concrete (the
/// symbolic batch is handled by <see cref="SymbolicBatchPass"/>, which runs this at two batch sizes).
/// Fails naming the first node whose shape cannot be inferred.
/// </summary>
public sealed class ShapeInferencePass : IImportPass
{
    public string Name => "shape-inference";

    public void Run(ImportGraph g)
    {
        foreach (var i in g.Inputs)
            if (!ShapeMath.IsStatic(i.Shape)) throw new EmaException($"shape inference needs static input shapes, input '{i.Name}' is {Shapes.Format(i.Shape)}");
        foreach (var n in g.Nodes)
        {
            var shapes = ShapeInference.InferNode(n, g)
                ?? throw n.Fail($"the shape of an input ({string.Join(", ", n.Inputs.Where(s => s.Length > 0 && !ShapeMath.IsStatic(g.TryShape(s))).Select(s => "'" + s + "'"))}) is unknown");
            for (int k = 0; k < n.Outputs.Count; k++)
                if (n.Outputs[k].Length > 0) g.Shapes[n.Outputs[k]] = shapes[k];
        }
    }
}
