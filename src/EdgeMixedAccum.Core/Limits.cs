using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum;

/// <summary>
/// The hard limits that make a hostile model file cheap to reject: every reader (.ema, ONNX) checks a declared
/// size against these before it allocates or loops on it, and reports a breach as an <see cref="EmaException"/>
/// naming what and where. One place for all of them; ema-format.md ("Limits") and the converter README list them.
/// They are far above any model an edge board runs (the largest fixture has 2.3 M weights).
/// </summary>
public static class Limits
{
    /// <summary>Largest model file, .ema or .onnx (2 GiB - 1: the largest managed buffer, and the protobuf limit).</summary>
    public const long MaxFileBytes = int.MaxValue;

    /// <summary>Elements of one tensor: a weight, or one graph value per batch unit (2^26 = 256 MiB of fp32).</summary>
    public const long MaxTensorElements = 1L << 26;

    /// <summary>Elements of all non-constant graph values together, per batch unit: bounds the activation buffers a
    /// session allocates for a model (2^27 = 512 MiB of fp32), whatever shapes a file declares.</summary>
    public const long MaxActivationElements = 1L << 27;

    /// <summary>Nodes in one graph (the IR's own bound, <see cref="ModelGraph.MaxNodes"/>).</summary>
    public const int MaxGraphNodes = ModelGraph.MaxNodes;

    /// <summary>Values (tensors flowing between nodes, constants included) in one graph.</summary>
    public const int MaxGraphValues = ModelGraph.MaxValues;

    /// <summary>Constant tensors (weights) in one model.</summary>
    public const int MaxTensors = 1 << 16;

    /// <summary>Dimensions of one shape.</summary>
    public const int MaxRank = 8;

    /// <summary>Sections in one .ema file.</summary>
    public const int MaxSections = 64;

    /// <summary>Bytes of one string (a name, a label).</summary>
    public const int MaxStringBytes = 65536;

    /// <summary>Class labels in one model.</summary>
    public const int MaxLabels = 1 << 16;

    /// <summary>Element count of a shape whose batch dim (<see cref="Shapes.Batch"/>) counts as 1, checked against
    /// <see cref="MaxTensorElements"/> as soon as a partial product passes it (so it cannot overflow); the message names
    /// <paramref name="where"/>.</summary>
    public static long CheckElements(ReadOnlySpan<int> shape, string where)
    {
        const long limit = MaxTensorElements;
        long n = 1;
        foreach (int d in shape)
        {
            if (d == Shapes.Batch) continue;
            if (d < 0) throw new EmaException($"{where}: dimension {d} is negative");
            n = checked(n * d);
            if (n > limit) throw new EmaException($"{where}: shape {Shapes.Format(shape)} has more than {limit} elements (Limits.{nameof(MaxTensorElements)})");
        }
        return n;
    }

    /// <summary>The graph-wide limits the .ema reader enforces (elements of each value, activation elements per sample,
    /// nodes, values), for the writer and the ONNX importer: what they produce must read back. Names the value.</summary>
    public static void CheckGraph(ModelGraph g)
    {
        if (g.Nodes.Count > MaxGraphNodes) throw new EmaException($"the graph has {g.Nodes.Count} nodes, more than the limit {MaxGraphNodes} (Limits.MaxGraphNodes)");
        if (g.Values.Count > MaxGraphValues) throw new EmaException($"the graph has {g.Values.Count} values, more than the limit {MaxGraphValues} (Limits.MaxGraphValues)");
        long activations = 0;
        for (int v = 0; v < g.Values.Count; v++)
        {
            var info = g.Values[v];
            string where = $"value {v} '{info.Name}'";
            long n = CheckElements(info.Shape, where);
            if (!info.IsConstant && (activations += n) > MaxActivationElements)
                throw new EmaException(ActivationsMessage(where));
        }
    }

    internal static string ActivationsMessage(string where) =>
        $"{where}: the graph's activations need more than {MaxActivationElements} elements per sample (Limits.MaxActivationElements)";
}
