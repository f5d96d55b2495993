using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Converters.Passes;

/// <summary>
/// Evaluates nodes whose inputs are all constants (and Shape/Size of values whose shape is known and
/// static), replacing them by constants. Walks the graph once in topological order, inferring the shapes
/// of the nodes it cannot fold so that later Shape nodes fold too: PyTorch's dynamic flatten
/// (Shape, Gather, Unsqueeze, Concat, Reshape) folds to a constant Reshape target this way.
/// </summary>
public sealed class ConstantFoldingPass : IImportPass
{
    public string Name => "constant-folding";

    public void Run(ImportGraph g)
    {
        var kept = new List<ImportNode>(g.Nodes.Count);
        foreach (var n in g.Nodes)
        {
            var folded = ConstantEvaluator.TryEvaluate(n, g);
            if (folded is not null)
            {
                for (int k = 0; k < folded.Length && k < n.Outputs.Count; k++)
                    if (n.Outputs[k].Length > 0)
                    {
                        g.Constants[n.Outputs[k]] = folded[k];
                        g.Shapes.Remove(n.Outputs[k]);
                    }
                continue;
            }
            kept.Add(n);
            var shapes = ShapeInference.InferNode(n, g);
            if (shapes is not null)
                for (int k = 0; k < n.Outputs.Count; k++)
                    if (n.Outputs[k].Length > 0) g.Shapes[n.Outputs[k]] = shapes[k];
        }
        g.Nodes.Clear();
        g.Nodes.AddRange(kept);
    }
}

/// <summary>Evaluates the ops constant folding knows on constant inputs (ONNX semantics).</summary>
public static class ConstantEvaluator
{
    /// <summary>Folded results larger than this are refused (a guard against absurd ConstantOfShape sizes).</summary>
    public const long MaxElements = 1 << 24;

    /// <summary>The ops constant folding can evaluate.</summary>
    public static IReadOnlySet<string> Ops { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "Constant", "Shape", "Size", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Slice", "Mul", "Add", "Sub", "Div",
        "Neg", "Sqrt", "Reshape", "Flatten", "Transpose", "Identity", "ConstantOfShape", "Gemm", "MatMul",
    };

    /// <summary>The node's outputs as constants, or null when it cannot be folded (not a foldable op, an input
    /// not constant, or a Shape of a value whose static shape is unknown).</summary>
    public static ConstTensor[]? TryEvaluate(ImportNode n, ImportGraph g)
    {
        if (!Ops.Contains(n.OpType)) return null;
        if (n.OpType is "Shape" or "Size")
        {
            var s = n.HasInput(0) ? g.TryShape(n.Input(0)) : null;
            if (!ShapeMath.IsStatic(s)) return null;
            return [n.OpType == "Size" ? ConstTensor.Int([], [Shapes.Elements(s, n.Where)]) : ShapeOf(n, g, s!)];
        }
        var ins = new ConstTensor?[n.Inputs.Count];
        for (int i = 0; i < ins.Length; i++)
        {
            if (!n.HasInput(i)) continue;
            if (!g.Constants.TryGetValue(n.Input(i), out var c)) return null;
            ins[i] = c;
        }
        if (n.OpType is "Gemm" or "MatMul" && ins.Take(2).Any(c => c?.Kind != ConstKind.Float)) return null;
        var r = Evaluate(n, g, ins);
        return [r];
    }

    private static ConstTensor Evaluate(ImportNode n, ImportGraph g, ConstTensor?[] ins)
    {
        ConstTensor In(int i) => i < ins.Length && ins[i] is { } c ? c : throw n.Fail($"input {i} is required");
        switch (n.OpType)
        {
            case "Constant": return ConstantValue(n);
            case "Identity": return In(0);
            case "Gather": return Gather(n, In(0), In(1));
            case "Unsqueeze": return In(0).WithShape(ShapeMath.Unsqueeze(In(0).Shape, ShapeMath.Axes(n, g, 1, required: true)!, n));
            case "Squeeze": return In(0).WithShape(ShapeMath.Squeeze(In(0).Shape, ShapeMath.Axes(n, g, 1, required: false), n));
            case "Flatten": return In(0).WithShape(ShapeMath.Flatten(In(0).Shape, n.Int("axis", 1), n));
            case "Reshape": return In(0).WithShape(ShapeMath.Reshape(In(0).Shape, In(1).ToIntArray($"{n.Where}: shape"), n.Int("allowzero", 0) != 0, n));
            case "Concat": return Concat(n, ins.Where(c => c is not null).ToList()!);
            case "Cast": return Cast(n, In(0));
            case "Slice": return Slice(n, g, ins);
            case "Transpose": return Transpose(n, In(0));
            case "Add" or "Sub" or "Mul" or "Div": return Binary(n, In(0), In(1));
            case "Neg" or "Sqrt": return Unary(n, In(0));
            case "ConstantOfShape": return ConstantOfShape(n, In(0));
            case "Gemm": return Gemm(n, In(0), In(1), ins.Length > 2 ? ins[2] : null);
            case "MatMul": return MatMul(n, In(0), In(1));
            default: throw n.Fail("cannot be constant-folded");
        }
    }

    private static void CheckSize(ImportNode n, int[] shape)
    {
        if (Shapes.Elements(shape, n.Where) > MaxElements)
            throw n.Fail($"folding would make a constant of shape {Shapes.Format(shape)}, more than {MaxElements} elements");
    }

    private static ConstTensor ShapeOf(ImportNode n, ImportGraph g, int[] s)
    {
        int r = s.Length;
        long start = 0, end = r;
        if (g.Opset >= 15)
        {
            start = n.Int("start", 0);
            end = n.Int("end", r);
            if (start < 0) start += r;
            if (end < 0) end += r;
            start = Math.Clamp(start, 0, r);
            end = Math.Clamp(end, 0, r);
        }
        var dims = new List<long>();
        for (long i = start; i < end; i++) dims.Add(s[i]);
        return ConstTensor.Int([dims.Count], dims.ToArray());
    }

    private static ConstTensor ConstantValue(ImportNode n)
    {
        if (n.Tensor("value") is { } t) return t;
        if (n.Has("value_float")) return ConstTensor.ScalarFloat(n.Float("value_float", 0));
        if (n.Floats("value_floats") is { } fs) return ConstTensor.Float([fs.Length], fs);
        if (n.Has("value_int")) return ConstTensor.Int([], [n.Int("value_int", 0)]);
        if (n.Ints("value_ints") is { } vs) return ConstTensor.Int([vs.Length], vs);
        throw n.Fail($"has no supported value attribute (value, value_float(s), value_int(s)); found {string.Join(", ", n.Attributes.Keys)}");
    }

    private static ConstTensor Gather(ImportNode n, ConstTensor data, ConstTensor indices)
    {
        int axis = ShapeMath.NormAxis(n.Int("axis", 0), data.Rank, n);
        var idx = indices.ToIntArray($"{n.Where}: indices");
        int[] shape = [.. data.Shape[..axis], .. indices.Shape, .. data.Shape[(axis + 1)..]];
        CheckSize(n, shape);
        int outer = (int)Shapes.Elements(data.Shape.AsSpan(0, axis), n.Where);
        int len = data.Shape[axis];
        int inner = (int)Shapes.Elements(data.Shape.AsSpan(axis + 1), n.Where);
        var map = new int[outer * idx.Length * inner];
        int p = 0;
        for (int o = 0; o < outer; o++)
            for (int k = 0; k < idx.Length; k++)
            {
                long j = idx[k] < 0 ? idx[k] + len : idx[k];
                if (j < 0 || j >= len) throw n.Fail($"index {idx[k]} is out of range for axis {axis} of size {len}");
                for (int i = 0; i < inner; i++) map[p++] = (int)((o * (long)len + j) * inner + i);
            }
        return data.Select(shape, map);
    }

    private static ConstTensor Concat(ImportNode n, List<ConstTensor> xs)
    {
        if (xs.Count == 0) throw n.Fail("has no inputs");
        if (xs.Any(x => x.Kind != xs[0].Kind)) throw n.Fail("inputs mix integer and floating types");
        long axisAttr = n.Int("axis", long.MinValue);
        if (axisAttr == long.MinValue) throw n.Fail("attribute 'axis' is required");
        var shape = ShapeMath.Concat(xs.Select(x => x.Shape).ToList(), axisAttr, n);
        CheckSize(n, shape);
        int axis = ShapeMath.NormAxis(axisAttr, shape.Length, n);
        int outer = (int)Shapes.Elements(shape.AsSpan(0, axis), n.Where);
        int inner = (int)Shapes.Elements(shape.AsSpan(axis + 1), n.Where);
        int total = (int)Shapes.Elements(shape, n.Where);
        if (xs[0].Kind == ConstKind.Float)
            return ConstTensor.Float(shape, Join(xs, static x => x.Floats, axis, outer, inner, total), xs[0].DataType);
        return ConstTensor.Int(shape, Join(xs, static x => x.Ints, axis, outer, inner, total), xs[0].DataType);
    }

    /// <summary>Concatenation of C-order blocks: for each outer index, each input's slab of axis x inner elements.</summary>
    private static T[] Join<T>(IReadOnlyList<ConstTensor> xs, Func<ConstTensor, ReadOnlySpan<T>> data, int axis, int outer, int inner, int total)
    {
        var r = new T[total];
        int p = 0;
        for (int o = 0; o < outer; o++)
            foreach (var x in xs)
            {
                int chunk = x.Shape[axis] * inner;
                data(x).Slice(o * chunk, chunk).CopyTo(r.AsSpan(p));
                p += chunk;
            }
        return r;
    }

    private static ConstTensor Cast(ImportNode n, ConstTensor x)
    {
        int to = (int)n.Int("to", OnnxDataType.Undefined);
        if (OnnxDataType.IsFloat(to))
        {
            var f = x.ToFloatArray();
            if (to is OnnxDataType.Float16)
                for (int k = 0; k < f.Length; k++) f[k] = (float)(Half)f[k];
            else if (to is OnnxDataType.BFloat16)
                for (int k = 0; k < f.Length; k++) f[k] = BFloat16Round(f[k]);
            return ConstTensor.Float(x.Shape, f, to);
        }
        if (OnnxDataType.IsInteger(to))
        {
            var r = new long[x.Count];
            for (int k = 0; k < r.Length; k++)
            {
                if (x.Kind == ConstKind.Int) { r[k] = x.Ints[k]; }
                else
                {
                    float v = x.Floats[k];
                    if (to == OnnxDataType.Bool) { r[k] = v != 0 ? 1 : 0; continue; }
                    if (!float.IsFinite(v) || Math.Abs(v) >= 9.2e18f) throw n.Fail($"cannot cast {v} to {OnnxDataType.Name(to)}");
                    r[k] = (long)v; // truncation toward zero
                }
                r[k] = Wrap(r[k], to);
            }
            return ConstTensor.Int(x.Shape, r, to);
        }
        throw n.Fail($"cast to {OnnxDataType.Name(to)} is not supported");
    }

    /// <summary>Wraps an integer to the range of the target type (two's complement, as a C cast).</summary>
    private static long Wrap(long v, int to) => to switch
    {
        OnnxDataType.Bool => v != 0 ? 1 : 0,
        OnnxDataType.Int8 => (sbyte)v,
        OnnxDataType.UInt8 => (byte)v,
        OnnxDataType.Int16 => (short)v,
        OnnxDataType.UInt16 => (ushort)v,
        OnnxDataType.Int32 => (int)v,
        OnnxDataType.UInt32 => (uint)v,
        _ => v,
    };

    internal static float BFloat16Round(float f)
    {
        if (float.IsNaN(f)) return f;
        uint bits = BitConverter.SingleToUInt32Bits(f);
        uint rounded = bits + 0x7FFFu + ((bits >> 16) & 1u); // round to nearest even
        return BitConverter.UInt32BitsToSingle(rounded & 0xFFFF0000u);
    }

    private static ConstTensor Slice(ImportNode n, ImportGraph g, ConstTensor?[] ins)
    {
        var data = (ins.Length > 0 ? ins[0] : null) ?? throw n.Fail("input 0 is required");
        long[] starts, ends;
        long[]? axes, steps = null;
        if (g.Opset < 10)
        {
            starts = n.Ints("starts") ?? throw n.Fail("attribute 'starts' is required");
            ends = n.Ints("ends") ?? throw n.Fail("attribute 'ends' is required");
            axes = n.Ints("axes");
        }
        else
        {
            starts = (ins.Length > 1 ? ins[1] : null)?.ToIntArray($"{n.Where}: starts") ?? throw n.Fail("input 'starts' is required");
            ends = (ins.Length > 2 ? ins[2] : null)?.ToIntArray($"{n.Where}: ends") ?? throw n.Fail("input 'ends' is required");
            axes = (ins.Length > 3 ? ins[3] : null)?.ToIntArray($"{n.Where}: axes");
            steps = (ins.Length > 4 ? ins[4] : null)?.ToIntArray($"{n.Where}: steps");
        }
        int r = data.Rank;
        axes ??= Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        steps ??= Enumerable.Repeat(1L, starts.Length).ToArray();
        if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length)
            throw n.Fail("starts, ends, axes and steps differ in length");
        var begin = new long[r]; var step = new long[r]; var shape = (int[])data.Shape.Clone();
        for (int d = 0; d < r; d++) step[d] = 1;
        var seen = new bool[r];
        for (int k = 0; k < starts.Length; k++)
        {
            int a = ShapeMath.NormAxis(axes[k], r, n);
            if (seen[a]) throw n.Fail($"axis {axes[k]} is repeated");
            seen[a] = true;
            long dim = data.Shape[a], s = starts[k], e = ends[k], st = steps[k];
            if (st == 0) throw n.Fail("a step is 0");
            if (s < 0) s += dim;
            if (e < 0) e += dim;
            long len;
            if (st > 0)
            {
                s = Math.Clamp(s, 0, dim); e = Math.Clamp(e, 0, dim);
                len = e > s ? (e - s + st - 1) / st : 0;
            }
            else
            {
                s = Math.Clamp(s, 0, dim - 1); e = Math.Clamp(e, -1, dim - 1);
                len = s > e ? (s - e + (-st) - 1) / (-st) : 0;
            }
            begin[a] = s; step[a] = st; shape[a] = (int)len;
        }
        CheckSize(n, shape);
        int total = (int)Shapes.Elements(shape, n.Where);
        var map = new int[total];
        var srcStride = Strides(data.Shape);
        var idx = new int[r];
        for (int p = 0; p < total; p++)
        {
            long src = 0;
            for (int d = 0; d < r; d++) src += (begin[d] + idx[d] * step[d]) * srcStride[d];
            map[p] = (int)src;
            for (int d = r - 1; d >= 0; d--)
            {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        return data.Select(shape, map);
    }

    private static ConstTensor Transpose(ImportNode n, ConstTensor x)
    {
        var perm = n.IntArray("perm") ?? Enumerable.Range(0, x.Rank).Reverse().ToArray();
        var shape = ShapeMath.Transpose(x.Shape, perm, n);
        var srcStride = Strides(x.Shape);
        int total = x.Count;
        var map = new int[total];
        var idx = new int[shape.Length];
        for (int p = 0; p < total; p++)
        {
            long src = 0;
            for (int d = 0; d < shape.Length; d++) src += (long)idx[d] * srcStride[perm[d]];
            map[p] = (int)src;
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        return x.Select(shape, map);
    }

    private static long[] Strides(int[] shape)
    {
        var s = new long[shape.Length];
        long st = 1;
        for (int d = shape.Length - 1; d >= 0; d--) { s[d] = st; st *= shape[d]; }
        return s;
    }

    /// <summary>Per output element, the flat source index in an operand of <paramref name="shape"/> broadcast to <paramref name="outShape"/>.</summary>
    private static int[] BroadcastMap(int[] shape, int[] outShape)
    {
        int r = outShape.Length;
        var st = new long[r];
        long stride = 1;
        for (int d = r - 1; d >= 0; d--)
        {
            int k = d - (r - shape.Length);
            int dim = k >= 0 ? shape[k] : 1;
            st[d] = dim == 1 ? 0 : stride;
            stride *= dim;
        }
        int total = (int)Shapes.Elements(outShape, "broadcast");
        var map = new int[total];
        var idx = new int[r];
        for (int p = 0; p < total; p++)
        {
            long src = 0;
            for (int d = 0; d < r; d++) src += idx[d] * st[d];
            map[p] = (int)src;
            for (int d = r - 1; d >= 0; d--)
            {
                if (++idx[d] < outShape[d]) break;
                idx[d] = 0;
            }
        }
        return map;
    }

    private static ConstTensor Binary(ImportNode n, ConstTensor a, ConstTensor b)
    {
        if (a.Kind != b.Kind) throw n.Fail($"operands {OnnxDataType.Name(a.DataType)} and {OnnxDataType.Name(b.DataType)} differ in type");
        var shape = ShapeMath.Broadcast(a.Shape, b.Shape, n);
        CheckSize(n, shape);
        var ma = BroadcastMap(a.Shape, shape);
        var mb = BroadcastMap(b.Shape, shape);
        if (a.Kind == ConstKind.Float)
        {
            var x = a.Floats; var y = b.Floats;
            var r = new float[ma.Length];
            for (int p = 0; p < r.Length; p++)
            {
                float u = x[ma[p]], v = y[mb[p]];
                r[p] = n.OpType switch { "Add" => u + v, "Sub" => u - v, "Mul" => u * v, _ => u / v };
            }
            return ConstTensor.Float(shape, r, a.DataType);
        }
        else
        {
            var x = a.Ints; var y = b.Ints;
            var r = new long[ma.Length];
            for (int p = 0; p < r.Length; p++)
            {
                long u = x[ma[p]], v = y[mb[p]];
                if (n.OpType == "Div" && v == 0) throw n.Fail("integer division by zero");
                r[p] = n.OpType switch { "Add" => unchecked(u + v), "Sub" => unchecked(u - v), "Mul" => unchecked(u * v), _ => v == -1 ? unchecked(-u) : u / v };
            }
            return ConstTensor.Int(shape, r, a.DataType);
        }
    }

    private static ConstTensor Unary(ImportNode n, ConstTensor x)
    {
        if (x.Kind == ConstKind.Int)
        {
            if (n.OpType != "Neg") throw n.Fail("needs a floating-point input");
            var q = x.ToIntArray(n.Where);
            for (int k = 0; k < q.Length; k++) q[k] = unchecked(-q[k]);
            return ConstTensor.Int(x.Shape, q, x.DataType);
        }
        var f = x.ToFloatArray();
        for (int k = 0; k < f.Length; k++) f[k] = n.OpType == "Neg" ? -f[k] : MathF.Sqrt(f[k]);
        return ConstTensor.Float(x.Shape, f, x.DataType);
    }

    private static ConstTensor ConstantOfShape(ImportNode n, ConstTensor shapeIn)
    {
        var dims = shapeIn.ToIntArray($"{n.Where}: shape");
        if (dims.Any(d => d < 0 || d > int.MaxValue)) throw n.Fail($"shape {ShapeMath.Fmt(dims)} is invalid");
        var shape = dims.Select(d => (int)d).ToArray();
        CheckSize(n, shape);
        int total = (int)Shapes.Elements(shape, n.Where);
        var v = n.Tensor("value") ?? ConstTensor.ScalarFloat(0f);
        if (v.Count != 1) throw n.Fail("attribute 'value' must hold one element");
        if (v.Kind == ConstKind.Float) return ConstTensor.Float(shape, Enumerable.Repeat(v.Floats[0], total).ToArray(), v.DataType);
        return ConstTensor.Int(shape, Enumerable.Repeat(v.Ints[0], total).ToArray(), v.DataType);
    }

    private static ConstTensor Gemm(ImportNode n, ConstTensor a, ConstTensor b, ConstTensor? c)
    {
        if (a.Rank != 2 || b.Rank != 2) throw n.Fail($"A {Shapes.Format(a.Shape)} and B {Shapes.Format(b.Shape)} must have rank 2");
        bool ta = n.Int("transA", 0) != 0, tb = n.Int("transB", 0) != 0;
        float alpha = n.Float("alpha", 1f), beta = n.Float("beta", 1f);
        int m = ta ? a.Shape[1] : a.Shape[0], k = ta ? a.Shape[0] : a.Shape[1];
        int kb = tb ? b.Shape[1] : b.Shape[0], nn = tb ? b.Shape[0] : b.Shape[1];
        if (k != kb) throw n.Fail($"A {Shapes.Format(a.Shape)} and B {Shapes.Format(b.Shape)} do not multiply");
        int[] shape = [m, nn];
        CheckSize(n, shape);
        var A = a.Floats; var B = b.Floats;
        var r = new float[m * nn];
        int[]? cm = null;
        float[]? C = null;
        if (c is not null)
        {
            if (!ShapeMath.Broadcast(shape, c.Shape, n).AsSpan().SequenceEqual(shape)) throw n.Fail($"C {Shapes.Format(c.Shape)} does not broadcast to [{m}, {nn}]");
            cm = BroadcastMap(c.Shape, shape);
            C = c.ToFloatArray();
        }
        for (int i = 0; i < m; i++)
            for (int j = 0; j < nn; j++)
            {
                double s = 0;
                for (int t = 0; t < k; t++) s += (double)A[ta ? t * m + i : i * k + t] * B[tb ? j * k + t : t * nn + j];
                double y = alpha * s;
                if (C is not null) y += beta * (double)C[cm![i * nn + j]];
                r[i * nn + j] = (float)y;
            }
        return ConstTensor.Float(shape, r);
    }

    private static ConstTensor MatMul(ImportNode n, ConstTensor a, ConstTensor b)
    {
        if (a.Rank != 2 || b.Rank != 2) throw n.Fail($"folding supports rank-2 operands only, got {Shapes.Format(a.Shape)} and {Shapes.Format(b.Shape)}");
        var shape = ShapeMath.MatMul(a.Shape, b.Shape, n);
        CheckSize(n, shape);
        int m = a.Shape[0], k = a.Shape[1], nn = b.Shape[1];
        var A = a.Floats; var B = b.Floats;
        var r = new float[m * nn];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < nn; j++)
            {
                double s = 0;
                for (int t = 0; t < k; t++) s += (double)A[i * k + t] * B[t * nn + j];
                r[i * nn + j] = (float)s;
            }
        return ConstTensor.Float(shape, r);
    }
}
