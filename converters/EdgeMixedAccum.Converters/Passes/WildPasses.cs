using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Converters.Passes;

/// <summary>
/// LayerNormalization into one node (<c>LayerNormalization</c> of the import IR, lowered to <see cref="LayerNormNode"/>):
/// <list type="bullet">
/// <item>the opset-17 op: only output 0 may be read (Mean and InvStdDev are training outputs); scale and bias must be
/// constants and are expanded to the normalised shape;</item>
/// <item>the decomposed form PyTorch exports before opset 17 (and tf2onnx for Keras LayerNormalization spells alike):
/// m = ReduceMean(x, last axes, keepdims=1); d = x - m; v = ReduceMean(d ^ 2, same axes); d / Sqrt(v + eps), then
/// optionally * gamma and + beta (constants, either operand order). d is read by the Pow and the Div only; every other
/// intermediate by the next node of the pattern only, and none is a graph output.</item>
/// </list>
/// Runs after constant folding (the Pow exponent, epsilon and ReduceMean axes are constants by then) and before the
/// layer passes, so that the per-channel Mul/Add folding never sees gamma and beta.
/// </summary>
public sealed class LayerNormFusionPass : IImportPass
{
    public string Name => "layernorm-fusion";

    public const string Op = "LayerNormalization";

    public void Run(ImportGraph g)
    {
        foreach (var n in g.Nodes.Where(n => n.OpType == Op).ToList()) Normalise(g, n);
        foreach (var m in g.Nodes.Where(n => n.OpType == "ReduceMean").ToList())
            if (g.Nodes.Contains(m)) TryDecomposed(g, m);
    }

    /// <summary>The opset-17 op: checks what the runtime op supports and gives scale/bias the normalised shape.</summary>
    private static void Normalise(ImportGraph g, ImportNode n)
    {
        for (int k = 1; k < n.Outputs.Count; k++)
            if (n.Outputs[k].Length > 0 && g.UseCount(n.Outputs[k]) > 0)
                throw n.Fail($"output {k} ('{n.Outputs[k]}', {(k == 1 ? "Mean" : "InvStdDev")}) is used; only Y is supported");
        n.Outputs.RemoveRange(1, n.Outputs.Count - 1);
        var x = g.TryShape(n.Input(0)) ?? throw n.Fail("the input shape is unknown");
        int axis = ShapeMath.NormAxis(n.Int("axis", -1), x.Length, n);
        if (axis == 0) throw n.Fail("normalising over the batch dim (axis 0) is not supported: the statistics must be per sample");
        var norm = x[axis..];
        if (norm.Any(d => d < 0)) throw n.Fail($"the normalised dims {Shapes.Format(norm)} must be static");
        for (int i = 1; i <= 2; i++)
        {
            if (!n.HasInput(i)) { if (i == 1) throw n.Fail("input 'Scale' is required"); continue; }
            var c = g.TryConstant(n.Input(i)) ?? throw n.Fail($"{(i == 1 ? "scale" : "bias")} '{n.Input(i)}' must be a constant");
            n.Inputs[i] = Expanded(g, n, c, norm, n.Input(i));
        }
        float eps = n.Float("epsilon", 1e-5f);
        if (!float.IsFinite(eps) || eps < 0) throw n.Fail($"epsilon {eps} must be finite and >= 0");
        n.Attributes["axis"] = ImportAttribute.Of("axis", (long)axis);
        n.Attributes["epsilon"] = ImportAttribute.Of("epsilon", eps);
    }

    /// <summary>A constant broadcast to exactly <paramref name="shape"/> (a new constant when it changes).</summary>
    private static string Expanded(ImportGraph g, ImportNode n, ConstTensor c, int[] shape, string name)
    {
        if (c.Kind != ConstKind.Float) throw n.Fail($"'{name}' must be floating point");
        if (c.Shape.AsSpan().SequenceEqual(shape)) return name;
        var b = ShapeMath.Broadcast(shape, c.Shape, n);
        if (!b.AsSpan().SequenceEqual(shape)) throw n.Fail($"'{name}' {Shapes.Format(c.Shape)} does not broadcast to the normalised shape {Shapes.Format(shape)}");
        int total = (int)Shapes.Elements(shape, n.Where);
        var src = c.ToFloatArray();
        var dst = new float[total];
        // Index of each element in the (right-aligned, size-1-broadcast) source.
        int rank = shape.Length, off = rank - c.Rank;
        for (int e = 0; e < total; e++)
        {
            int rem = e, si = 0, stride = 1;
            for (int d = rank - 1; d >= 0; d--)
            {
                int coord = rem % shape[d]; rem /= shape[d];
                int sd = d - off;
                if (sd < 0) continue;
                if (c.Shape[sd] != 1) si += coord * stride;
                stride *= c.Shape[sd];
            }
            dst[e] = src[si];
        }
        return g.AddConstant(g.FreshName(name + "_expanded"), ConstTensor.Float(shape, dst));
    }

    private static ImportNode? Sole(ImportGraph g, string value, string op) => g.SoleConsumer(value, op)?.Node;

    /// <summary>Axes of a ReduceMean (attribute before opset 18, constant input from 18), normalised and sorted,
    /// or null when they are not a set of trailing dims that leaves dim 0 alone (then it is not a LayerNorm).</summary>
    private static int[]? TrailingAxes(ImportGraph g, ImportNode m, int rank)
    {
        long[]? axes = g.Opset < 18 ? m.Ints("axes") : g.TryConstant(m.Input(1))?.ToIntArray(m.Where);
        if (axes is null || axes.Length == 0 || m.Int("keepdims", 1) != 1) return null;
        var a = axes.Select(v => (int)(v < 0 ? v + rank : v)).Distinct().Order().ToArray();
        if (a.Length != axes.Length || a[0] < 1 || a[^1] != rank - 1 || a.Length != rank - a[0]) return null;
        return a;
    }

    private static bool IsScalar(ImportGraph g, string name, out double v)
    {
        v = 0;
        var c = g.TryConstant(name);
        if (c is null || c.Count != 1 || c.Kind != ConstKind.Float) return false;
        v = c.At(0);
        return true;
    }

    private static void TryDecomposed(ImportGraph g, ImportNode m1)
    {
        string x = m1.Input(0);
        if (x.Length == 0 || g.IsConstant(x) || g.TryShape(x) is not { } xs) return;
        var axes = TrailingAxes(g, m1, xs.Length);
        if (axes is null) return;
        // d = x - mean: the Sub must read x and the mean, in that order.
        if (Sole(g, m1.Output0, "Sub") is not { } sub || sub.Input(0) != x || sub.Input(1) != m1.Output0) return;
        string d = sub.Output0;
        var dc = g.Consumers(d);
        if (dc.Count != 2 || g.IsOutput(d)) return;
        var pow = dc.FirstOrDefault(c => c.Node.OpType == "Pow" && c.Index == 0).Node;
        var div = dc.FirstOrDefault(c => c.Node.OpType == "Div" && c.Index == 0).Node;
        if (pow is null || div is null || !IsScalar(g, pow.Input(1), out double p) || p != 2) return;
        if (Sole(g, pow.Output0, "ReduceMean") is not { } m2 || TrailingAxes(g, m2, xs.Length) is not { } axes2 || !axes.SequenceEqual(axes2)) return;
        if (Sole(g, m2.Output0, "Add") is not { } addEps) return;
        string epsName = addEps.Input(0) == m2.Output0 ? addEps.Input(1) : addEps.Input(0);
        if (!IsScalar(g, epsName, out double eps) || eps < 0 || !double.IsFinite(eps)) return;
        if (Sole(g, addEps.Output0, "Sqrt") is not { } sqrt || !g.OnlyFeeds(sqrt.Output0, div) || div.Input(1) != sqrt.Output0) return;
        var removed = new List<ImportNode> { m1, sub, pow, m2, addEps, sqrt, div };
        var norm = xs[axes[0]..];
        ImportNode top = div;
        string? gamma = null, beta = null;
        // Optional affine part: * gamma, then + beta (constants that broadcast to the normalised shape).
        if (Sole(g, div.Output0, "Mul") is { } mul && OtherConst(g, mul, div.Output0) is { } gm)
        {
            gamma = gm; top = mul; removed.Add(mul);
            if (Sole(g, mul.Output0, "Add") is { } add && OtherConst(g, add, mul.Output0) is { } bt)
            {
                beta = bt; top = add; removed.Add(add);
            }
        }
        var fused = new ImportNode(Op, top.Name, [x, gamma ?? "", beta ?? ""], [top.Output0],
            [ImportAttribute.Of("axis", (long)axes[0]), ImportAttribute.Of("epsilon", (float)eps)]);
        try
        {
            if (gamma is null) fused.Inputs[1] = g.AddConstant(g.FreshName(top.Name + "_ones"), ConstTensor.Float(norm, Enumerable.Repeat(1f, (int)Shapes.Elements(norm, top.Where)).ToArray()));
            else fused.Inputs[1] = Expanded(g, top, g.TryConstant(gamma)!, norm, gamma);
            if (beta is not null) fused.Inputs[2] = Expanded(g, top, g.TryConstant(beta)!, norm, beta);
            else fused.Inputs.RemoveAt(2);
        }
        catch (EmaException) { return; } // gamma/beta of another shape: not a LayerNorm, leave the ops (they fail later, named)
        PatternFusionPass.Replace(g, removed, top, fused);
        g.Notes.Add($"LayerNorm over dims {axes[0]}.. fused from the decomposed pattern ending at '{top.Name}'");
    }

    private static string? OtherConst(ImportGraph g, ImportNode n, string value)
    {
        if (n.Inputs.Count != 2) return null;
        string other = n.Input(0) == value ? n.Input(1) : n.Input(1) == value ? n.Input(0) : "";
        return g.TryConstant(other) is { Kind: ConstKind.Float } ? other : null;
    }
}

/// <summary>
/// Element-wise Max(x, c) and Min(x, c) with a scalar constant c (tf2onnx's clamps, Keras ReLU(max_value) and
/// friends) become Clip nodes; then a Clip reading a Relu or a Clip (a chain of clamps) is merged into one Clip when
/// their ranges overlap. <see cref="ActivationFusionPass"/> then fuses the Clip into a preceding Dense/Conv, also
/// after a fused LeakyReLU (one LeakyReluClip activation, <see cref="Fold"/>); after a layer with any other
/// activation (Tanh, say) it stays a stand-alone fp32 Clip node.
/// </summary>
public sealed class ClampPass : IImportPass
{
    public string Name => "clamp";

    public void Run(ImportGraph g)
    {
        for (int i = 0; i < g.Nodes.Count; i++)
        {
            var n = g.Nodes[i];
            if (n.OpType is not ("Max" or "Min") || n.Inputs.Count != 2) continue;
            int ci = g.IsConstant(n.Input(1)) ? 1 : g.IsConstant(n.Input(0)) ? 0 : -1;
            if (ci < 0 || g.IsConstant(n.Input(1 - ci))) continue;
            var c = g.TryConstant(n.Input(ci))!;
            if (c.Count != 1 || c.Kind != ConstKind.Float) continue; // a per-channel clamp has no IR op: fails at lowering, named
            // A scalar constant of rank r would broadcast the output to rank r: only when x has at least that rank.
            if (g.TryShape(n.Input(1 - ci)) is { } xs && xs.Length < c.Rank) continue;
            float v = (float)c.At(0);
            if (float.IsNaN(v)) throw n.Fail("clamp bound is NaN");
            float lo = n.OpType == "Max" ? v : float.NegativeInfinity, hi = n.OpType == "Min" ? v : float.PositiveInfinity;
            g.Nodes[i] = MakeClip(g, n.Name, n.Input(1 - ci), n.Output0, lo, hi);
            g.DropConstantIfUnused(n.Input(ci));
        }
        // Merge chains: Clip(Clip(x)) and Clip(Relu(x)) when the inner value has no other reader.
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var outer in g.Nodes.Where(n => n.OpType == "Clip").ToList())
            {
                var inner = g.Producer(outer.Input(0));
                if (inner is null || inner.OpType is not ("Clip" or "Relu") || !g.OnlyFeeds(outer.Input(0), outer)) continue;
                var a = ImportActivations.Of(inner, g);
                var b = ImportActivations.Of(outer, g);
                if (Compose(a, b) is not { } r) continue;
                var merged = MakeClip(g, outer.Name, inner.Input(0), outer.Output0, r.Lo, r.Hi);
                g.Nodes[g.Nodes.IndexOf(outer)] = merged;
                g.Nodes.Remove(inner);
                g.Shapes.Remove(inner.Output0);
                foreach (var k in inner.Inputs.Skip(1).Concat(outer.Inputs.Skip(1))) g.DropConstantIfUnused(k);
                changed = true;
            }
        }
    }

    /// <summary>The range of clamp-after-clamp (ReLU is [0, inf), Identity everything), or null when it is not one
    /// clamp (disjoint ranges make a constant; other activations are not clamps).</summary>
    public static (float Lo, float Hi)? Compose(Activation inner, Activation outer)
    {
        if (Range(inner) is not var (l1, h1) || Range(outer) is not var (l2, h2)) return null;
        return Intersect(l1, h1, l2, h2);
    }

    /// <summary>
    /// One activation for a clamp (ReLU, Clip, Identity) applied after <paramref name="inner"/>: a clamp after a clamp
    /// (<see cref="Compose"/>); after LeakyReLU, LeakyReluClip; after LeakyReluClip, LeakyReluClip with the ranges
    /// intersected. Null when there is none (disjoint ranges make a constant; a clamp after Tanh, say, stays a node).
    /// </summary>
    public static Activation? Fold(Activation inner, Activation outer)
    {
        if (Range(outer) is not var (lo, hi)) return null;
        switch (inner.Kind)
        {
            case ActivationKind.LeakyRelu:
                return Activation.LeakyReluClip(inner.Alpha, lo, hi);
            case ActivationKind.LeakyReluClip:
                return Intersect(inner.Min, inner.Max, lo, hi) is var (l, h) ? Activation.LeakyReluClip(inner.Alpha, l, h) : null;
            default:
                return Compose(inner, outer) is var (cl, ch) ? ToActivation(cl, ch) : null;
        }
    }

    private static (float, float)? Range(Activation a) => a.Kind switch
    {
        ActivationKind.Identity => (float.NegativeInfinity, float.PositiveInfinity),
        ActivationKind.Relu => (0f, float.PositiveInfinity),
        ActivationKind.Clip => (a.Min, a.Max),
        _ => null,
    };

    private static (float, float)? Intersect(float l1, float h1, float l2, float h2)
    {
        float lo = Math.Max(l1, l2), hi = Math.Min(h1, h2);
        return lo <= hi ? (lo, hi) : null;
    }

    /// <summary>The activation for a clamp range (ReLU and Identity where the range says so).</summary>
    public static Activation ToActivation(float lo, float hi) =>
        float.IsNegativeInfinity(lo) && float.IsPositiveInfinity(hi) ? Activation.Identity
        : lo == 0 && float.IsPositiveInfinity(hi) ? Activation.Relu
        : Activation.Clip(lo, hi);

    /// <summary>A Clip node in the form the graph's opset reads (bounds as attributes before 11, constant inputs from 11).</summary>
    private static ImportNode MakeClip(ImportGraph g, string name, string x, string y, float lo, float hi)
    {
        if (g.Opset < 11)
            return new ImportNode("Clip", name, [x], [y], [ImportAttribute.Of("min", lo), ImportAttribute.Of("max", hi)]);
        string Bound(float v, string what) => float.IsInfinity(v) ? "" : g.AddConstant(g.FreshName($"{name}_{what}"), ConstTensor.ScalarFloat(v));
        var ins = new List<string> { x, Bound(lo, "min"), Bound(hi, "max") };
        while (ins.Count > 1 && ins[^1].Length == 0) ins.RemoveAt(ins.Count - 1);
        return new ImportNode("Clip", name, ins, [y]);
    }
}
