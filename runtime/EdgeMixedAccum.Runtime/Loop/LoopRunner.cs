namespace EdgeMixedAccum.Runtime.Loop;

public enum LoopTick { Sampled, Inferred, Missing, Stalled, EndOfStream, Cancelled }

/// <summary>
/// Reads a source at a fixed rate into a ring of <c>window</c> samples and runs inference every <c>hop</c>
/// samples once the ring is full. Deadlines sit on the grid start + k * period, so lateness never accumulates;
/// a tick that starts a whole period or more late skips the missed slots and counts them. Rate 0 means as fast as
/// the source delivers. After construction a tick allocates nothing (given a non-allocating source and callback).
/// </summary>
public sealed class LoopRunner
{
    private readonly ISampleSource _source;
    private readonly IWindowInference _inference;
    private readonly ILoopClock _clock;
    private readonly RingBuffer _ring;
    private readonly float[] _sample;
    private readonly float[] _window;
    private readonly double _periodTicks;
    private readonly double[] _latencies; // last LatencyHistory inference latencies (microseconds)
    private long _latencyCount;
    private long _slot;
    private long _start;
    private bool _started;
    private long _samplesInRing;
    private long _samples, _inferences, _misses, _stalledTicks, _missingTicks;

    public LoopRunner(ISampleSource source, int window, int hop, double rateHz, IWindowInference inference,
        ILoopClock? clock = null, int latencyHistory = 65536)
    {
        _source = source ?? throw new ArgumentNullException(nameof(source));
        _inference = inference ?? throw new ArgumentNullException(nameof(inference));
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(hop, 1);
        if (!(rateHz >= 0) || double.IsInfinity(rateHz)) throw new ArgumentOutOfRangeException(nameof(rateHz), rateHz, "rate must be >= 0 Hz (0 = as fast as possible)");
        ArgumentOutOfRangeException.ThrowIfLessThan(latencyHistory, 1);
        _clock = clock ?? SystemLoopClock.Instance;
        Window = window;
        Hop = hop;
        RateHz = rateHz;
        _ring = new RingBuffer(source.Channels, window);
        _sample = new float[source.Channels];
        _window = new float[source.Channels * window];
        _periodTicks = rateHz > 0 ? _clock.TicksPerSecond / rateHz : 0;
        _latencies = new double[latencyHistory];
    }

    public int Window { get; }
    public int Hop { get; }
    public double RateHz { get; }
    public int Channels => _source.Channels;
    public long Samples => _samples;
    public long Inferences => _inferences;
    public long DeadlineMisses => _misses;

    /// <summary>Runs ticks until the source ends or <paramref name="cancellationToken"/> fires.</summary>
    public LoopSummary Run(Action<LoopRecord>? onRecord, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var t = Tick(onRecord, cancellationToken);
            if (t == LoopTick.EndOfStream) return Summarize(LoopStopReason.EndOfStream);
            if (t == LoopTick.Cancelled) return Summarize(LoopStopReason.Cancelled);
        }
    }

    /// <summary>One scheduled read; infers and emits a record when the hop comes due.</summary>
    public LoopTick Tick(Action<LoopRecord>? onRecord, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested) return LoopTick.Cancelled;
        if (!_started)
        {
            _start = _clock.Now;
            _started = true;
        }
        if (_periodTicks > 0 && !WaitForSlot(cancellationToken)) return LoopTick.Cancelled;

        switch (_source.Read(_sample, out double timestamp))
        {
            case SampleStatus.EndOfStream: return LoopTick.EndOfStream;
            case SampleStatus.Stalled: _stalledTicks++; return LoopTick.Stalled;
            case SampleStatus.Missing: _missingTicks++; return LoopTick.Missing;
        }

        _ring.Push(_sample);
        _samples++;
        _samplesInRing++;
        if (!_ring.IsFull || (_samplesInRing - Window) % Hop != 0) return LoopTick.Sampled;

        _ring.CopyWindow(_window);
        long t0 = _clock.Now;
        var outcome = _inference.Infer(_window);
        double micros = (_clock.Now - t0) * 1e6 / _clock.TicksPerSecond;
        _latencies[_latencyCount++ % _latencies.Length] = micros;
        _inferences++;
        onRecord?.Invoke(new LoopRecord(timestamp, _samples - 1, outcome.ClassIndex, outcome.Score,
            outcome.RecomputeFraction, outcome.MaxErrorBound, micros));
        return LoopTick.Inferred;
    }

    private bool WaitForSlot(CancellationToken cancellationToken)
    {
        long deadline = _start + (long)(_slot * _periodTicks);
        long now = _clock.Now;
        if (now < deadline)
        {
            if (!_clock.WaitUntil(deadline, cancellationToken)) return false;
        }
        else
        {
            long missed = (long)((now - deadline) / _periodTicks);
            _misses += missed;
            _slot += missed;
        }
        _slot++;
        return true;
    }

    /// <summary>Counters so far; percentiles cover the last <c>latencyHistory</c> inferences. Allocates.</summary>
    public LoopSummary Summarize(LoopStopReason stoppedBy)
    {
        int n = (int)Math.Min(_latencyCount, _latencies.Length);
        var sorted = _latencies.AsSpan(0, n).ToArray();
        Array.Sort(sorted);
        var health = _source.Health;
        double elapsed = _started ? (double)(_clock.Now - _start) / _clock.TicksPerSecond : 0;
        return new LoopSummary(stoppedBy, _samples, _inferences,
            Percentile(sorted, 0.50), Percentile(sorted, 0.95), Percentile(sorted, 0.99),
            _misses, health.Faults, health.FaultsRecovered, health.Stalls, _stalledTicks, _missingTicks, elapsed);
    }

    /// <summary>Nearest-rank percentile; 0 for no data.</summary>
    public static double Percentile(ReadOnlySpan<double> sorted, double p)
    {
        if (sorted.Length == 0) return 0;
        int rank = (int)Math.Ceiling(p * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
