namespace EdgeMixedAccum.Runtime.Loop;

/// <summary>
/// Replays a CSV file (timestamp column, then one column per channel; optional header). The file is parsed whole
/// at construction so a bad row fails before the loop starts and reads never allocate.
/// </summary>
public sealed class ReplaySource : ISampleSource
{
    private readonly float[] _values;
    private readonly double[] _times;
    private int _next;

    public ReplaySource(string path)
    {
        Path = path;
        using var reader = new StreamReader(path);
        (_values, _times, Channels) = Load(reader, path);
    }

    /// <summary>Parses from a reader; <paramref name="name"/> is used in error messages.</summary>
    public ReplaySource(TextReader reader, string name)
    {
        Path = name;
        (_values, _times, Channels) = Load(reader, name);
    }

    public string Path { get; }
    public int Channels { get; }
    public int Length => _times.Length;
    public SourceHealth Health => default;

    public SampleStatus Read(Span<float> sample, out double timestampSeconds)
    {
        if (_next >= _times.Length)
        {
            timestampSeconds = 0;
            return SampleStatus.EndOfStream;
        }
        _values.AsSpan(_next * Channels, Channels).CopyTo(sample);
        timestampSeconds = _times[_next++];
        return SampleStatus.Ok;
    }

    public void Rewind() => _next = 0;

    private static (float[] Values, double[] Times, int Channels) Load(TextReader reader, string name)
    {
        var values = new List<float>();
        var times = new List<double>();
        int channels = -1, lineNo = 0;
        float[] row = [];
        string? line;
        while ((line = reader.ReadLine()) != null)
        {
            lineNo++;
            if (line.AsSpan().Trim().IsEmpty) continue;
            if (channels < 0)
            {
                channels = CsvSampleRow.CountColumns(line) - 1;
                if (channels < 1) throw new FormatException($"{name}:{lineNo}: need a timestamp column and at least one channel");
                row = new float[channels];
                if (CsvSampleRow.IsHeader(line)) continue;
            }
            string? error = CsvSampleRow.TryParse(line, row, out double t);
            if (error != null) throw new FormatException($"{name}:{lineNo}: {error}");
            times.Add(t);
            values.AddRange(row);
        }
        if (times.Count == 0) throw new FormatException($"{name}: no samples");
        return (values.ToArray(), times.ToArray(), channels);
    }

    public void Dispose() { }
}
