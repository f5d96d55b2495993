namespace EdgeMixedAccum.Runtime.Loop;

/// <summary>
/// The last <see cref="Capacity"/> samples of each channel, stored channel-major so a window copy is two
/// contiguous block copies per channel. No allocation after construction.
/// </summary>
public sealed class RingBuffer
{
    private readonly float[] _data; // [channel][slot]
    private int _head;              // slot the next sample goes to; the oldest once full

    public RingBuffer(int channels, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Channels = channels;
        Capacity = capacity;
        _data = new float[checked(channels * capacity)];
    }

    public int Channels { get; }
    public int Capacity { get; }
    public int Count { get; private set; }
    public bool IsFull => Count == Capacity;
    public long TotalPushed { get; private set; }

    public void Push(ReadOnlySpan<float> sample)
    {
        if (sample.Length < Channels) throw new ArgumentException($"sample has {sample.Length} values, need {Channels}", nameof(sample));
        for (int c = 0; c < Channels; c++) _data[c * Capacity + _head] = sample[c];
        _head = _head + 1 == Capacity ? 0 : _head + 1;
        if (Count < Capacity) Count++;
        TotalPushed++;
    }

    /// <summary>Copies the full window as [Channels, Capacity], oldest sample first in each channel row.</summary>
    public void CopyWindow(Span<float> destination)
    {
        if (!IsFull) throw new InvalidOperationException($"ring holds {Count} of {Capacity} samples");
        if (destination.Length < Channels * Capacity)
            throw new ArgumentException($"destination has {destination.Length} floats, need {Channels * Capacity}", nameof(destination));
        int older = Capacity - _head;
        for (int c = 0; c < Channels; c++)
        {
            var row = _data.AsSpan(c * Capacity, Capacity);
            var dst = destination.Slice(c * Capacity, Capacity);
            row[_head..].CopyTo(dst);
            row[.._head].CopyTo(dst[older..]);
        }
    }

    public void Clear()
    {
        _head = 0;
        Count = 0;
    }
}
