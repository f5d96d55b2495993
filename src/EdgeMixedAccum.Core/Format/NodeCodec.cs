using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Format;

/// <summary>Encodes and decodes nodes: common fields, the layer block and named attributes (ema-format.md, GRAPH).</summary>
internal static class NodeCodec
{
    private const byte Ints = 1, Floats = 2;
    private const int MaxAttrValues = 64;

    public static void Write(SectionWriter w, Node n)
    {
        w.U8((byte)n.Op);
        w.Str(n.Name);
        if (n.Inputs.Length > byte.MaxValue) throw new EmaException($"{n}: too many inputs ({n.Inputs.Length})");
        w.U8((byte)n.Inputs.Length);
        foreach (int i in n.Inputs) w.I32(i);
        w.I32(n.Output);
        if (n is LayerNode layer)
        {
            var a = layer.Activation; var p = layer.Plan;
            w.U8((byte)a.Kind); w.U8((byte)p.Precision); w.U8((byte)p.Estimator); w.U8(0);
            w.F32(a.Alpha); w.F32(a.Min); w.F32(a.Max);
            w.F32(p.Tau); w.F32(p.TauNegative); w.I32(p.BlockSize); w.F32(p.InputScale);
        }
        var attrs = new List<(string, byte, int[]?, float[]?)>();
        switch (n)
        {
            case ConvNode c:
                attrs.Add(("strides", Ints, c.Strides, null));
                attrs.Add(("pads", Ints, c.Pads, null));
                attrs.Add(("dilations", Ints, c.Dilations, null));
                attrs.Add(("group", Ints, [c.Groups], null));
                break;
            case PoolNode p:
                attrs.Add(("kernel", Ints, p.Kernel, null));
                attrs.Add(("strides", Ints, p.Strides, null));
                attrs.Add(("pads", Ints, p.Pads, null));
                attrs.Add(("dilations", Ints, p.Dilations, null));
                attrs.Add(("ceil_mode", Ints, [p.CeilMode ? 1 : 0], null));
                if (!p.IsMax) attrs.Add(("count_include_pad", Ints, [p.CountIncludePad ? 1 : 0], null));
                break;
            case FlattenNode f: attrs.Add(("axis", Ints, [f.Axis], null)); break;
            case SoftmaxNode s: attrs.Add(("axis", Ints, [s.Axis], null)); break;
            case ConcatNode c: attrs.Add(("axis", Ints, [c.Axis], null)); break;
            case ReshapeNode r: attrs.Add(("shape", Ints, r.Target, null)); break;
            case ActivationNode a:
                attrs.Add(("activation", Ints, [(int)a.Activation.Kind], null));
                attrs.Add(("params", Floats, null, [a.Activation.Alpha, a.Activation.Min, a.Activation.Max]));
                break;
            case LayerNormNode l:
                attrs.Add(("axis", Ints, [l.Axis], null));
                attrs.Add(("epsilon", Floats, null, [l.Epsilon]));
                break;
            case TransposeNode t: attrs.Add(("perm", Ints, t.Perm, null)); break;
        }
        w.U16((ushort)attrs.Count);
        foreach (var (name, type, ints, floats) in attrs)
        {
            w.Str(name);
            w.U8(type);
            if (type == Ints) w.I32s(ints!); else w.F32s(floats!);
        }
    }

    public static Node Read(ref SectionReader r, int index)
    {
        long start = r.Offset;
        byte code = r.U8("op code");
        Node n = (OpKind)code switch
        {
            OpKind.Dense => new DenseNode(),
            OpKind.Conv => new ConvNode(),
            OpKind.MaxPool => new PoolNode(max: true),
            OpKind.AveragePool => new PoolNode(max: false),
            OpKind.GlobalAveragePool => new GlobalAveragePoolNode(),
            OpKind.Add => new AddNode(),
            OpKind.Flatten => new FlattenNode(),
            OpKind.Reshape => new ReshapeNode(),
            OpKind.Softmax => new SoftmaxNode(),
            OpKind.Concat => new ConcatNode(),
            OpKind.Activation => new ActivationNode(),
            OpKind.LayerNorm => new LayerNormNode(),
            OpKind.Transpose => new TransposeNode(),
            _ => throw r.ErrorAt(start, $"node {index}: unknown op code {code}"),
        };
        n.Name = r.Str($"node {index} name");
        string where = $"node {index} '{n.Name}' ({n.Op})";
        int inputs = r.U8($"{where} input count");
        var (min, max) = n.Arity;
        if (inputs < min || inputs > max) throw r.ErrorAt(r.Offset - 1, $"{where} has {inputs} inputs, expects {min}..{max}");
        n.Inputs = new int[inputs];
        for (int i = 0; i < inputs; i++) n.Inputs[i] = r.I32($"{where} input id");
        n.Output = r.I32($"{where} output id");
        if (n is LayerNode layer)
        {
            long at = r.Offset;
            byte act = r.U8("activation"), prec = r.U8("precision"), est = r.U8("estimator"), reserved = r.U8("reserved");
            float alpha = r.F32("alpha"), lo = r.F32("clip min"), hi = r.F32("clip max");
            float tau = r.F32("tau"), tauNeg = r.F32("tau negative");
            int block = r.I32("block size");
            float scale = r.F32("input scale");
            if (!Enum.IsDefined((ActivationKind)act)) throw r.ErrorAt(at, $"{where}: unknown activation code {act}");
            if (reserved != 0) throw r.ErrorAt(at + 3, $"{where}: reserved byte is {reserved}, not 0");
            layer.Activation = new Activation((ActivationKind)act, alpha, lo, hi);
            layer.Plan = new LayerPlan((Precision)prec, tau, (EstimatorKind)est, block, tauNeg, scale);
            try { layer.Plan.Validate(where); }
            catch (EmaException e) { throw r.ErrorAt(at, e.Message); }
        }
        int count = r.U16($"{where} attribute count");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int k = 0; k < count; k++)
        {
            long at = r.Offset;
            string name = r.Str($"{where} attribute name");
            if (!seen.Add(name)) throw r.ErrorAt(at, $"{where}: attribute '{name}' appears twice");
            byte type = r.U8($"{where} attribute '{name}' type");
            int[] ints = []; float[] floats = [];
            if (type == Ints) ints = r.I32s($"{where} attribute '{name}'", MaxAttrValues);
            else if (type == Floats) floats = r.F32s($"{where} attribute '{name}'", MaxAttrValues);
            else throw r.ErrorAt(at, $"{where}: attribute '{name}' has unknown type {type}");
            if (!Apply(n, name, type, ints, floats)) throw r.ErrorAt(at, $"{where}: attribute '{name}' ({(type == Ints ? "ints" : "floats")}, {Math.Max(ints.Length, floats.Length)} values) is not valid for this op");
        }
        FillDefaults(n, ref r, start, where, seen);
        return n;
    }

    private static bool Apply(Node n, string name, byte type, int[] ints, float[] floats)
    {
        bool one = type == Ints && ints.Length == 1;
        switch (n, name)
        {
            case (ConvNode c, "strides") when type == Ints: c.Strides = ints; return true;
            case (ConvNode c, "pads") when type == Ints: c.Pads = ints; return true;
            case (ConvNode c, "dilations") when type == Ints: c.Dilations = ints; return true;
            case (ConvNode c, "group") when one: c.Groups = ints[0]; return true;
            case (PoolNode p, "kernel") when type == Ints: p.Kernel = ints; return true;
            case (PoolNode p, "strides") when type == Ints: p.Strides = ints; return true;
            case (PoolNode p, "pads") when type == Ints: p.Pads = ints; return true;
            case (PoolNode p, "dilations") when type == Ints: p.Dilations = ints; return true;
            case (PoolNode p, "ceil_mode") when one && ints[0] is 0 or 1: p.CeilMode = ints[0] == 1; return true;
            case (PoolNode { IsMax: false } p, "count_include_pad") when one && ints[0] is 0 or 1: p.CountIncludePad = ints[0] == 1; return true;
            case (FlattenNode f, "axis") when one: f.Axis = ints[0]; return true;
            case (SoftmaxNode s, "axis") when one: s.Axis = ints[0]; return true;
            case (ConcatNode c, "axis") when one: c.Axis = ints[0]; return true;
            case (ReshapeNode r, "shape") when type == Ints: r.Target = ints; return true;
            case (ActivationNode a, "activation") when one && Enum.IsDefined((ActivationKind)(byte)ints[0]) && ints[0] is >= 0 and < 256:
                a.Activation = a.Activation with { Kind = (ActivationKind)ints[0] }; return true;
            case (ActivationNode a, "params") when type == Floats && floats.Length == 3:
                a.Activation = a.Activation with { Alpha = floats[0], Min = floats[1], Max = floats[2] }; return true;
            case (LayerNormNode l, "axis") when one: l.Axis = ints[0]; return true;
            case (LayerNormNode l, "epsilon") when type == Floats && floats.Length == 1: l.Epsilon = floats[0]; return true;
            case (TransposeNode t, "perm") when type == Ints: t.Perm = ints; return true;
            default: return false;
        }
    }

    /// <summary>Defaults of omitted attributes depend on the rank, which the kernel (Conv) or the
    /// required kernel attribute (pools) tells; Reshape needs its shape.</summary>
    private static void FillDefaults(Node n, ref SectionReader r, long start, string where, HashSet<string> seen)
    {
        switch (n)
        {
            case ConvNode c:
                // Spatial rank is only known from the weight, resolved by the caller; an empty list
                // here means "default" and is filled by ResolveConvDefaults.
                break;
            case PoolNode p:
                if (p.Kernel.Length == 0) throw r.ErrorAt(start, $"{where}: required attribute 'kernel' is missing");
                int sp = p.Kernel.Length;
                if (p.Strides.Length == 0) p.Strides = Ones(sp);
                if (p.Dilations.Length == 0) p.Dilations = Ones(sp);
                if (p.Pads.Length == 0) p.Pads = new int[2 * sp];
                break;
            case TransposeNode when !seen.Contains("perm"):
                // ONNX's default (reverse all dims) would move the batch: the converter always writes perm.
                throw r.ErrorAt(start, $"{where}: required attribute 'perm' is missing");
            case ReshapeNode when !seen.Contains("shape"):
                throw r.ErrorAt(start, $"{where}: required attribute 'shape' is missing");
            case ReshapeNode:
                // An empty target is a legal reshape to a scalar only if the input has one element;
                // shape inference decides.
                break;
        }
    }

    /// <summary>Fills omitted Conv attributes once the weight rank is known.</summary>
    public static void ResolveConvDefaults(ConvNode c, int spatialRank)
    {
        if (c.Strides.Length == 0) c.Strides = Ones(spatialRank);
        if (c.Dilations.Length == 0) c.Dilations = Ones(spatialRank);
        if (c.Pads.Length == 0) c.Pads = new int[2 * spatialRank];
    }

    private static int[] Ones(int n) => Enumerable.Repeat(1, n).ToArray();
}
