namespace EdgeMixedAccum.Runtime.Loop;

/// <summary>
/// CSV rows (timestamp, channels...) streamed from a reader, typically stdin. The first data row fixes the channel
/// count, so construction reads ahead to it. Each row read allocates its string (TextReader.ReadLine).
/// </summary>
public sealed class StdinSource : ISampleSource
{
    private readonly TextReader _reader;
    private readonly string _name;
    private readonly float[] _pending;
    private double _pendingTime;
    private bool _hasPending;
    private int _lineNo;

    private readonly bool _ownsReader;

    public StdinSource(TextReader reader, string name = "stdin", bool ownsReader = false)
    {
        _reader = reader ?? throw new ArgumentNullException(nameof(reader));
        _ownsReader = ownsReader;
        _name = name;
        string? line;
        while ((line = NextLine()) != null)
        {
            if (Channels == 0)
            {
                Channels = CsvSampleRow.CountColumns(line) - 1;
                if (Channels < 1) throw new FormatException($"{_name}:{_lineNo}: need a timestamp column and at least one channel");
                if (CsvSampleRow.IsHeader(line)) continue;
            }
            _pending = new float[Channels];
            Parse(line, _pending, out _pendingTime);
            _hasPending = true;
            return;
        }
        throw new FormatException($"{_name}: no samples before end of input");
    }

    public int Channels { get; }
    public SourceHealth Health => default;

    public SampleStatus Read(Span<float> sample, out double timestampSeconds)
    {
        if (_hasPending)
        {
            _hasPending = false;
            _pending.CopyTo(sample);
            timestampSeconds = _pendingTime;
            return SampleStatus.Ok;
        }
        string? line = NextLine();
        if (line == null)
        {
            timestampSeconds = 0;
            return SampleStatus.EndOfStream;
        }
        Parse(line, sample[..Channels], out timestampSeconds);
        return SampleStatus.Ok;
    }

    private string? NextLine()
    {
        string? line;
        do
        {
            line = _reader.ReadLine();
            _lineNo++;
        } while (line != null && line.AsSpan().Trim().IsEmpty);
        return line;
    }

    private void Parse(string line, Span<float> sample, out double t)
    {
        string? error = CsvSampleRow.TryParse(line, sample, out t);
        if (error != null) throw new FormatException($"{_name}:{_lineNo}: {error}");
    }

    public void Dispose()
    {
        if (_ownsReader) _reader.Dispose();
    }
}
