using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Format;

/// <summary>Optional input normalisation x' = (x - mean[c]) / std[c], per channel (dim 1) or one value for all.</summary>
public sealed record InputNormalization(float[] Mean, float[] Std)
{
    /// <summary>Normalises <paramref name="x"/> of <paramref name="shape"/> in place: per channel (dim 1)
    /// when there are several means, else one mean and std for every element.</summary>
    public void Apply(Span<float> x, ReadOnlySpan<int> shape)
    {
        if (Mean.Length == 1)
        {
            Normalize(x, Mean[0], Std[0]);
            return;
        }
        if (shape.Length < 2 || shape[1] != Mean.Length)
            throw new EmaException($"normalisation has {Mean.Length} channels but the input shape is {Shapes.Format(shape)}");
        int inner = 1;
        for (int d = 2; d < shape.Length; d++) inner *= shape[d];
        if (inner == 0) return;
        // Channel c of every sample is one run of `inner` elements: element i is in channel i / inner % C.
        for (int start = 0, c = 0; start < x.Length; start += inner, c = (c + 1) % Mean.Length)
            Normalize(x.Slice(start, Math.Min(inner, x.Length - start)), Mean[c], Std[c]);
    }

    /// <summary>x = (x - m) / s in place, vector lanes then the tail: the same IEEE subtraction and division per
    /// element as a scalar loop.</summary>
    private static void Normalize(Span<float> x, float m, float s)
    {
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            var vm = new System.Numerics.Vector<float>(m);
            var vs = new System.Numerics.Vector<float>(s);
            for (; i + System.Numerics.Vector<float>.Count <= x.Length; i += System.Numerics.Vector<float>.Count)
                ((new System.Numerics.Vector<float>(x[i..]) - vm) / vs).CopyTo(x[i..]);
        }
        for (; i < x.Length; i++) x[i] = (x[i] - m) / s;
    }
}

/// <summary>Describes the model to a user: where it came from, what goes in and what comes out.</summary>
public sealed class ModelMetadata
{
    public string ModelName { get; set; } = "";
    /// <summary>SHA-256 of the source file (e.g. the ONNX export), or all zeros when unknown.</summary>
    public byte[] SourceSha256 { get; set; } = new byte[32];
    public string ConverterVersion { get; set; } = "";
    /// <summary>Normalisation the caller's raw input needs (null when none or already folded).</summary>
    public InputNormalization? Normalization { get; set; }
    /// <summary>Class labels of the first output's last dim (empty when not a classifier).</summary>
    public List<string> Labels { get; set; } = [];
    /// <summary>The board the plan was chosen for (`ema convert --board`), stored in the optional TARGET section; null for none.</summary>
    public ModelTarget? Target { get; set; }
}

/// <summary>The board a model was converted for and the CPU features its plan relies on (boards/NAME/board.json).</summary>
/// <param name="Board">Board name, e.g. "rpi5".</param>
/// <param name="Features">Linux /proc/cpuinfo feature names the plan needs, e.g. "asimdhp" for fp16 accumulation.</param>
public sealed record ModelTarget(string Board, IReadOnlyList<string> Features)
{
    public const int MaxFeatures = 64, MaxNameBytes = 64;
}

/// <summary>A model as stored in a .ema file: metadata plus graph (which owns the tensors).</summary>
public sealed class EmaModel
{
    public EmaModel(ModelMetadata metadata, ModelGraph graph)
    {
        Metadata = metadata;
        Graph = graph;
    }

    public ModelMetadata Metadata { get; }
    public ModelGraph Graph { get; }
    /// <summary>The format version of the file it was read from ("1.0"), or null for a model built in memory.</summary>
    public string? FormatVersion { get; init; }
    /// <summary>Size of the file it was read from, or 0.</summary>
    public long FileBytes { get; init; }

    public IEnumerable<ValueInfo> InputInfos => Graph.Inputs.Select(i => Graph.Values[i]);
    public IEnumerable<ValueInfo> OutputInfos => Graph.Outputs.Select(i => Graph.Values[i]);
}
