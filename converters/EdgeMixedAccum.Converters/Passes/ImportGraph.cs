using System.Globalization;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Converters.Passes;

/// <summary>The kind of value an <see cref="ImportAttribute"/> carries.</summary>
public enum AttrKind { Float, Int, String, Tensor, Floats, Ints, Strings, Other }

/// <summary>One node attribute as read from the model (only the field named by <see cref="Kind"/> is meaningful).</summary>
public sealed record ImportAttribute(string Name, AttrKind Kind, float F = 0, long I = 0, string S = "",
    ConstTensor? T = null, float[]? Floats = null, long[]? Ints = null, string[]? Strings = null)
{
    public static ImportAttribute Of(string name, long i) => new(name, AttrKind.Int, I: i);
    public static ImportAttribute Of(string name, float f) => new(name, AttrKind.Float, F: f);
    public static ImportAttribute Of(string name, string s) => new(name, AttrKind.String, S: s);
    public static ImportAttribute Of(string name, long[] ints) => new(name, AttrKind.Ints, Ints: ints);
    public static ImportAttribute Of(string name, float[] floats) => new(name, AttrKind.Floats, Floats: floats);
    public static ImportAttribute Of(string name, ConstTensor t) => new(name, AttrKind.Tensor, T: t);
}

/// <summary>
/// A generic node of the import IR: an ONNX op (or one of the importer's own ops, named in
/// <see cref="ImportOps"/>) with named inputs and outputs. An empty input name is an omitted optional input.
/// </summary>
public sealed class ImportNode
{
    public ImportNode(string opType, string name, IEnumerable<string> inputs, IEnumerable<string> outputs,
        IEnumerable<ImportAttribute>? attributes = null)
    {
        OpType = opType;
        Name = name;
        Inputs = inputs.ToList();
        Outputs = outputs.ToList();
        foreach (var a in attributes ?? []) Attributes[a.Name] = a;
    }

    public string OpType { get; set; }
    public string Name { get; set; }
    public List<string> Inputs { get; }
    public List<string> Outputs { get; }
    public Dictionary<string, ImportAttribute> Attributes { get; } = new(StringComparer.Ordinal);
    /// <summary>The activation fused into a layer (Dense or Conv) by <see cref="ActivationFusionPass"/>.</summary>
    public Activation Fused { get; set; } = Activation.Identity;

    /// <summary>Input <paramref name="i"/>, or "" when it is omitted.</summary>
    public string Input(int i) => i < Inputs.Count ? Inputs[i] : "";
    public bool HasInput(int i) => Input(i).Length > 0;
    public string Output0 => Outputs[0];

    public string Where => $"{OpType} node '{Name}'";
    public EmaException Fail(string what) => new($"{Where}: {what}");

    public bool Has(string attr) => Attributes.ContainsKey(attr);

    private ImportAttribute? Get(string name, AttrKind kind)
    {
        if (!Attributes.TryGetValue(name, out var a)) return null;
        if (a.Kind != kind) throw Fail($"attribute '{name}' should be {kind.ToString().ToUpperInvariant()}, found {a.Kind.ToString().ToUpperInvariant()}");
        return a;
    }

    public long Int(string name, long fallback) => Get(name, AttrKind.Int)?.I ?? fallback;

    /// <summary>An INT attribute that must fit in an int.</summary>
    public int Int32(string name, int fallback)
    {
        long v = Int(name, fallback);
        if (v is < int.MinValue or > int.MaxValue) throw Fail($"attribute '{name}' value {v} is out of range");
        return (int)v;
    }
    public float Float(string name, float fallback) => Get(name, AttrKind.Float)?.F ?? fallback;
    public string String(string name, string fallback) => Get(name, AttrKind.String)?.S ?? fallback;
    public ConstTensor? Tensor(string name) => Get(name, AttrKind.Tensor)?.T;
    public float[]? Floats(string name) => Get(name, AttrKind.Floats)?.Floats;

    /// <summary>An INTS attribute, or null when absent.</summary>
    public long[]? Ints(string name) => Get(name, AttrKind.Ints)?.Ints;

    /// <summary>An INTS attribute converted to int, each checked against the given range.</summary>
    public int[]? IntArray(string name)
    {
        var v = Ints(name);
        if (v is null) return null;
        var r = new int[v.Length];
        for (int k = 0; k < v.Length; k++)
        {
            if (v[k] is < int.MinValue or > int.MaxValue) throw Fail($"attribute '{name}' value {v[k]} is out of range");
            r[k] = (int)v[k];
        }
        return r;
    }

    public ImportNode Clone()
    {
        var n = new ImportNode(OpType, Name, Inputs, Outputs, Attributes.Values) { Fused = Fused };
        return n;
    }

    public override string ToString() => $"{OpType} '{Name}' ({string.Join(", ", Inputs)}) -> ({string.Join(", ", Outputs)})";
}

/// <summary>A graph input: its name and shape, dim 0 possibly <see cref="Shapes.Batch"/>.</summary>
public sealed record ImportInput(string Name, int[] Shape);

/// <summary>How the importer treated the batch dimension of the graph inputs.</summary>
public enum BatchMode
{
    /// <summary>No input has a batch dimension candidate: the graph is fully static.</summary>
    None,
    /// <summary>The model declared a symbolic (dim_param or missing) batch dimension.</summary>
    Symbolic,
    /// <summary>The model fixed dim 0 (a fixed-batch export) and the importer made it symbolic after checking
    /// that the graph folds to the same structure with two batch sizes.</summary>
    MadeSymbolic,
    /// <summary>The model fixed dim 0 and the graph does not allow another batch size: kept fixed.</summary>
    KeptFixed,
}

/// <summary>
/// The import IR: named values, generic nodes in topological order, a constant table, and shapes of the
/// runtime values once shape inference has run. Passes rewrite it in place.
/// </summary>
public sealed class ImportGraph
{
    public string Name { get; set; } = "";
    /// <summary>The default-domain opset the model imports.</summary>
    public int Opset { get; set; } = 17;
    public List<ImportInput> Inputs { get; } = [];
    public List<string> Outputs { get; } = [];
    public List<ImportNode> Nodes { get; } = [];
    public Dictionary<string, ConstTensor> Constants { get; } = new(StringComparer.Ordinal);
    /// <summary>Shapes of runtime values (inputs and node outputs); dim 0 may be <see cref="Shapes.Batch"/>.</summary>
    public Dictionary<string, int[]> Shapes { get; } = new(StringComparer.Ordinal);
    /// <summary>Constants whose value depends on the batch size; they only feed Reshape targets.</summary>
    public HashSet<string> BatchDependent { get; } = new(StringComparer.Ordinal);
    public BatchMode Batch { get; set; } = BatchMode.None;
    /// <summary>What the passes want the user to know (batch handling, removed nodes).</summary>
    public List<string> Notes { get; } = [];

    private int _fresh;

    public ImportInput AddInput(string name, params int[] shape)
    {
        var i = new ImportInput(name, shape);
        Inputs.Add(i);
        Shapes[name] = shape;
        return i;
    }

    public string AddConstant(string name, ConstTensor t)
    {
        Constants[name] = t;
        return name;
    }

    public ImportNode AddNode(string opType, string[] inputs, string[] outputs, params ImportAttribute[] attributes)
    {
        var n = new ImportNode(opType, outputs.Length > 0 ? outputs[0] : opType + "_" + Nodes.Count, inputs, outputs, attributes);
        Nodes.Add(n);
        return n;
    }

    public bool IsConstant(string name) => Constants.ContainsKey(name);
    public bool IsInput(string name) => Inputs.Any(i => i.Name == name);
    public bool IsOutput(string name) => Outputs.Contains(name);

    public ConstTensor? TryConstant(string name) => name.Length > 0 && Constants.TryGetValue(name, out var c) ? c : null;

    public int[]? TryShape(string name) => Shapes.TryGetValue(name, out var s) ? s : Constants.TryGetValue(name, out var c) ? c.Shape : null;

    public ImportNode? Producer(string name)
    {
        foreach (var n in Nodes)
            if (n.Outputs.Contains(name)) return n;
        return null;
    }

    /// <summary>Every (node, input index) reading <paramref name="name"/>.</summary>
    public List<(ImportNode Node, int Index)> Consumers(string name)
    {
        var r = new List<(ImportNode, int)>();
        if (name.Length == 0) return r;
        foreach (var n in Nodes)
            for (int i = 0; i < n.Inputs.Count; i++)
                if (n.Inputs[i] == name) r.Add((n, i));
        return r;
    }

    /// <summary>Readers of a value: node inputs plus one for each time it is a graph output.</summary>
    public int UseCount(string name) => Consumers(name).Count + Outputs.Count(o => o == name);

    /// <summary>The one node reading <paramref name="name"/> (and at which input) when it is of <paramref name="op"/> and
    /// the value is no graph output; else null.</summary>
    public (ImportNode Node, int Index)? SoleConsumer(string name, string op)
    {
        var c = Consumers(name);
        return c.Count == 1 && !IsOutput(name) && c[0].Node.OpType == op ? c[0] : null;
    }

    /// <summary>Whether <paramref name="name"/> is read only by node <paramref name="consumer"/> (once) and is not a graph output.</summary>
    public bool OnlyFeeds(string name, ImportNode consumer)
    {
        var c = Consumers(name);
        return c.Count == 1 && c[0].Node == consumer && !IsOutput(name);
    }

    /// <summary>Points every reader of <paramref name="from"/> (node inputs and graph outputs) at <paramref name="to"/>.</summary>
    public void ReplaceUses(string from, string to)
    {
        foreach (var n in Nodes)
            for (int i = 0; i < n.Inputs.Count; i++)
                if (n.Inputs[i] == from) n.Inputs[i] = to;
        for (int i = 0; i < Outputs.Count; i++)
            if (Outputs[i] == from) Outputs[i] = to;
    }

    /// <summary>A value name not used yet, <paramref name="preferred"/> when free.</summary>
    public string FreshName(string preferred)
    {
        bool Used(string s) => Constants.ContainsKey(s) || Shapes.ContainsKey(s) || Nodes.Any(n => n.Outputs.Contains(s) || n.Inputs.Contains(s)) || Inputs.Any(i => i.Name == s) || Outputs.Contains(s);
        if (!Used(preferred)) return preferred;
        while (true)
        {
            string s = preferred + "_" + (++_fresh).ToString(CultureInfo.InvariantCulture);
            if (!Used(s)) return s;
        }
    }

    /// <summary>Removes a constant that nothing reads any more.</summary>
    public void DropConstantIfUnused(string name)
    {
        if (Constants.ContainsKey(name) && UseCount(name) == 0) Constants.Remove(name);
    }

    /// <summary>A deep copy (constants are immutable and shared).</summary>
    public ImportGraph Clone()
    {
        var g = new ImportGraph { Name = Name, Opset = Opset, Batch = Batch, _fresh = _fresh };
        g.Inputs.AddRange(Inputs);
        g.Outputs.AddRange(Outputs);
        g.Nodes.AddRange(Nodes.Select(n => n.Clone()));
        foreach (var (k, v) in Constants) g.Constants[k] = v;
        foreach (var (k, v) in Shapes) g.Shapes[k] = v;
        g.BatchDependent.UnionWith(BatchDependent);
        g.Notes.AddRange(Notes);
        return g;
    }

    /// <summary>Replaces this graph's content by <paramref name="other"/>'s.</summary>
    public void CopyFrom(ImportGraph other)
    {
        Name = other.Name; Opset = other.Opset; Batch = other.Batch; _fresh = other._fresh;
        Inputs.Clear(); Inputs.AddRange(other.Inputs);
        Outputs.Clear(); Outputs.AddRange(other.Outputs);
        Nodes.Clear(); Nodes.AddRange(other.Nodes);
        Constants.Clear(); foreach (var (k, v) in other.Constants) Constants[k] = v;
        Shapes.Clear(); foreach (var (k, v) in other.Shapes) Shapes[k] = v;
        BatchDependent.Clear(); BatchDependent.UnionWith(other.BatchDependent);
        Notes.Clear(); Notes.AddRange(other.Notes);
    }

    public override string ToString() => string.Join("\n", Nodes.Select(n => n.ToString()));
}

/// <summary>Op types the importer introduces itself (never ONNX names: they carry the "ema." prefix).</summary>
public static class ImportOps
{
    /// <summary>y = x W^T + b with constant W [M, K] and optional constant b [M] (what Gemm and MatMul become).</summary>
    public const string Dense = "ema.Dense";
    /// <summary>x * sigmoid(x), from the Mul(x, Sigmoid(x)) pattern.</summary>
    public const string Silu = "ema.Silu";
}
