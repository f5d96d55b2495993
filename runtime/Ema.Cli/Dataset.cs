using EdgeMixedAccum.Format;
using EdgeMixedAccum.Npy;
using EdgeMixedAccum.Reference;

namespace EdgeMixedAccum.Cli;

/// <summary>Inputs (raw, flattened [B, ...]) and optional labels, checked against the model.</summary>
internal sealed record Dataset(float[] X, int Batch, long[]? Labels, int[] Shape)
{
    /// <summary>The input file's name (for reports).</summary>
    public string Source { get; init; } = "";

    public static Dataset Load(EmaModel m, FileInfo input, FileInfo? labels, int? limit)
    {
        if (m.Graph.Inputs.Count != 1) throw new EmaException($"the model has {m.Graph.Inputs.Count} inputs; the CLI feeds one");
        if (!input.Exists) throw new EmaException($"input file '{input.FullName}' does not exist");
        var x = NpyFile.Read(input.FullName);
        var (batch, shape) = ReferenceExecutor.FitInputShape(m.Graph.Values[m.Graph.Inputs[0]], x.Shape, input.Name);
        var data = x.ToFloat32();
        for (int i = 0; i < data.Length; i++)
            if (!float.IsFinite(data[i]))
                throw new EmaException($"{input.Name}: element {i} (sample {i / Math.Max(1, data.Length / Math.Max(1, batch))}) is {data[i]}; inputs must be finite");
        long[]? y = null;
        if (labels is not null)
        {
            if (!labels.Exists) throw new EmaException($"labels file '{labels.FullName}' does not exist");
            y = NpyFile.Read(labels.FullName).ToInt64();
            if (y.Length != batch) throw new EmaException($"{labels.Name} holds {y.Length} labels for {batch} inputs");
        }
        if (limit is { } n && n >= 0 && n < batch)
        {
            int per = batch == 0 ? 0 : data.Length / batch;
            data = data[..(n * per)];
            y = y?[..n];
            batch = n;
            shape = (int[])shape.Clone();
            shape[0] = n;
        }
        return new Dataset(data, batch, y, shape) { Source = input.Name };
    }
}
