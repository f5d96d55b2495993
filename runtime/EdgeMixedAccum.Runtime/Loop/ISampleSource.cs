namespace EdgeMixedAccum.Runtime.Loop;

public enum SampleStatus
{
    /// <summary>A sample was written.</summary>
    Ok,
    /// <summary>No sample this tick (a transient fault); the loop carries on.</summary>
    Missing,
    /// <summary>The source keeps failing or keeps returning the same data; the loop carries on and counts it.</summary>
    Stalled,
    /// <summary>A finite source (replay, stdin) is exhausted; the loop stops.</summary>
    EndOfStream,
}

/// <summary>Fault counters a source keeps; the loop copies them into its summary.</summary>
public readonly record struct SourceHealth(long Faults, long FaultsRecovered, long Stalls);

/// <summary>One multichannel sample per call; implementations must not allocate per read in steady state.</summary>
public interface ISampleSource : IDisposable
{
    int Channels { get; }

    /// <summary>Writes <see cref="Channels"/> values and the sample's time in seconds when the status is Ok.</summary>
    SampleStatus Read(Span<float> sample, out double timestampSeconds);

    SourceHealth Health { get; }
}
