using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Converters.Passes;

/// <summary>
/// Recognises activations that exporters spell out with elementary ops and replaces each pattern by one node:
/// <list type="bullet">
/// <item>GELU (exact, erf form) as PyTorch and tf2onnx export it before opset 20:
/// x / sqrt(2) (or x * 0.7071) -> Erf -> + 1 -> the product of x, that and 0.5, with operands in any order and
/// the three-factor product in any association; becomes Gelu(x).</item>
/// <item>SiLU / swish: Mul(x, Sigmoid(x)) in either operand order; becomes <see cref="ImportOps.Silu"/>(x).</item>
/// </list>
/// Every intermediate value of a pattern must have no reader outside it (and not be a graph output).
/// </summary>
public sealed class PatternFusionPass : IImportPass
{
    public string Name => "pattern-fusion";

    private const double Tolerance = 1e-4;

    public void Run(ImportGraph g)
    {
        foreach (var erf in g.Nodes.Where(n => n.OpType == "Erf").ToList())
            if (g.Nodes.Contains(erf)) TryGelu(g, erf);
        foreach (var s in g.Nodes.Where(n => n.OpType == "Sigmoid").ToList())
            if (g.Nodes.Contains(s)) TrySilu(g, s);
    }

    private static bool IsConst(ImportGraph g, string name, double value)
    {
        var c = g.TryConstant(name);
        return c is not null && c.Kind == ConstKind.Float && c.Count == 1 && Math.Abs(c.At(0) - value) <= Tolerance * Math.Abs(value);
    }

    /// <summary>The one node reading <paramref name="value"/> when it is of <paramref name="op"/> and the value is no graph output.</summary>
    private static (ImportNode Node, string Other)? SoleBinaryConsumer(ImportGraph g, string value, string op)
    {
        if (g.SoleConsumer(value, op) is not { } sole) return null;
        var (n, index) = sole;
        if (n.Inputs.Count != 2 || n.Input(0) == n.Input(1)) return null;
        return (n, n.Input(1 - index));
    }

    private static void TryGelu(ImportGraph g, ImportNode erf)
    {
        var pre = g.Producer(erf.Input(0));
        if (pre is null || !g.OnlyFeeds(erf.Input(0), erf) || pre.Inputs.Count != 2) return;
        string x;
        if (pre.OpType == "Div" && IsConst(g, pre.Input(1), Math.Sqrt(2))) x = pre.Input(0);
        else if (pre.OpType == "Mul" && IsConst(g, pre.Input(1), Math.Sqrt(0.5))) x = pre.Input(0);
        else if (pre.OpType == "Mul" && IsConst(g, pre.Input(0), Math.Sqrt(0.5))) x = pre.Input(1);
        else return;
        if (g.IsConstant(x)) return;
        if (SoleBinaryConsumer(g, erf.Output0, "Add") is not { } add || !IsConst(g, add.Other, 1.0)) return;
        string t = add.Node.Output0;
        if (SoleBinaryConsumer(g, t, "Mul") is not { } m1) return;
        var removed = new List<ImportNode> { pre, erf, add.Node, m1.Node };
        ImportNode top;
        if (m1.Other == x || IsConst(g, m1.Other, 0.5))
        {
            // (x * t) * 0.5 or (0.5 * t) * x, in any operand order.
            if (SoleBinaryConsumer(g, m1.Node.Output0, "Mul") is not { } m2) return;
            bool ok = m1.Other == x ? IsConst(g, m2.Other, 0.5) : m2.Other == x;
            if (!ok) return;
            top = m2.Node;
            removed.Add(top);
        }
        else
        {
            // t * (x * 0.5), in any operand order.
            var q = g.Producer(m1.Other);
            if (q is null || q.OpType != "Mul" || !g.OnlyFeeds(m1.Other, m1.Node) || q.Inputs.Count != 2) return;
            bool ok = (q.Input(0) == x && IsConst(g, q.Input(1), 0.5)) || (q.Input(1) == x && IsConst(g, q.Input(0), 0.5));
            if (!ok) return;
            top = m1.Node;
            removed.Add(q);
        }
        Replace(g, removed, top, new ImportNode("Gelu", top.Name, [x], [top.Output0]));
    }

    private static void TrySilu(ImportGraph g, ImportNode sig)
    {
        string x = sig.Input(0);
        if (x.Length == 0 || g.IsConstant(x)) return;
        if (SoleBinaryConsumer(g, sig.Output0, "Mul") is not { } m || m.Other != x) return;
        Replace(g, [sig, m.Node], m.Node, new ImportNode(ImportOps.Silu, m.Node.Name, [x], [m.Node.Output0]));
    }

    /// <summary>Puts <paramref name="fused"/> where <paramref name="top"/> was and removes the pattern's nodes,
    /// their intermediate values' shapes and constants nothing reads any more.</summary>
    internal static void Replace(ImportGraph g, List<ImportNode> removed, ImportNode top, ImportNode fused)
    {
        g.Nodes[g.Nodes.IndexOf(top)] = fused;
        var consts = new List<string>();
        foreach (var n in removed)
        {
            if (n != top) g.Nodes.Remove(n);
            consts.AddRange(n.Inputs.Where(g.IsConstant));
            foreach (var o in n.Outputs)
                if (o != fused.Output0) g.Shapes.Remove(o);
        }
        foreach (var c in consts) g.DropConstantIfUnused(c);
    }
}

/// <summary>
/// Fuses an activation into the Dense or Conv producing its input when the layer output has exactly one reader
/// (the activation) and is not a graph output; the layer then writes the activation's output. A clamp (Clip or
/// ReLU) after a layer whose fused activation is already a clamp is merged into it; after a fused LeakyReLU the two
/// become one LeakyReluClip (tf2onnx's LeakyReLU then Max/Min).
/// </summary>
public sealed class ActivationFusionPass : IImportPass
{
    public string Name => "activation-fusion";

    public void Run(ImportGraph g)
    {
        foreach (var layer in g.Nodes.ToList())
            if (LayerUtil.IsLayer(layer))
                while (FuseNext(g, layer)) { } // LeakyRelu, then the clamp after it
    }

    /// <summary>Fuses the activation reading the layer's output into it, if it can; whether it did.</summary>
    private static bool FuseNext(ImportGraph g, ImportNode layer)
    {
        string outName = layer.Output0;
        if (g.IsOutput(outName)) return false;
        var cons = g.Consumers(outName);
        if (cons.Count != 1 || !ImportActivations.IsActivation(cons[0].Node) || cons[0].Index != 0) return false;
        var act = cons[0].Node;
        var phi = ImportActivations.Of(act, g);
        if (layer.Fused.Kind != ActivationKind.Identity)
        {
            // A clamp after a fused ReLU/Clip is one clamp, after a fused LeakyReLU one LeakyReluClip; after any
            // other activation it stays a node.
            if (ClampPass.Fold(layer.Fused, phi) is not { } folded) return false;
            phi = folded;
        }
        layer.Fused = phi;
        layer.Outputs[0] = act.Output0;
        g.Nodes.Remove(act);
        g.Shapes.Remove(outName);
        foreach (var c in act.Inputs.Skip(1)) g.DropConstantIfUnused(c);
        return true;
    }
}
