namespace EdgeMixedAccum.Runtime.Loop;

/// <summary>Bounded retry for I2C reads: delays are Initial, 2*Initial, ... for at most MaxRetries retries.</summary>
public sealed record I2cRetryPolicy(int MaxRetries = 4, double InitialBackoffSeconds = 0.0005, int StallAfterIdenticalReads = 50)
{
    public static readonly I2cRetryPolicy Default = new();
}

/// <summary>
/// Six-channel source (accel xyz m/s^2, gyro xyz rad/s) over an <see cref="Mpu6050"/>. I2C faults are retried with
/// exponential backoff and counted; they never end the loop. A read whose retries all fail, or a device whose data
/// registers stop changing (real sensor noise makes identical 14-byte bursts practically impossible), reports
/// <see cref="SampleStatus.Stalled"/> instead of blocking.
/// </summary>
public sealed class I2cMpu6050Source : ISampleSource
{
    private readonly Mpu6050 _device;
    private readonly ILoopClock _clock;
    private readonly I2cRetryPolicy _policy;
    private readonly byte[] _previousRaw = new byte[Mpu6050.DataLength];
    private int _identicalReads;
    private bool _inStall;
    private long _faults, _recovered, _stalls;

    /// <summary>Initializes the device (retrying bus faults; a wrong WHO_AM_I is not retried).</summary>
    public I2cMpu6050Source(Mpu6050 device, ILoopClock? clock = null, I2cRetryPolicy? policy = null)
    {
        _device = device ?? throw new ArgumentNullException(nameof(device));
        _clock = clock ?? SystemLoopClock.Instance;
        _policy = policy ?? I2cRetryPolicy.Default;
        for (int attempt = 0; ; attempt++)
        {
            try { _device.Initialize(); break; }
            catch (IOException) when (attempt < _policy.MaxRetries)
            {
                _faults++;
                Backoff(attempt);
            }
        }
    }

    public int Channels => 6;
    public Mpu6050 Device => _device;
    public SourceHealth Health => new(_faults, _recovered, _stalls);

    public SampleStatus Read(Span<float> sample, out double timestampSeconds)
    {
        timestampSeconds = 0;
        bool failed = false;
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                _device.Read(sample);
                break;
            }
            catch (IOException)
            {
                _faults++;
                failed = true;
                if (attempt >= _policy.MaxRetries) return EnterStall();
                Backoff(attempt);
            }
        }
        if (failed) _recovered++;
        timestampSeconds = (double)_clock.Now / _clock.TicksPerSecond;

        ReadOnlySpan<byte> raw = _device.LastRaw;
        if (raw.SequenceEqual(_previousRaw))
        {
            if (++_identicalReads >= _policy.StallAfterIdenticalReads) return EnterStall();
        }
        else
        {
            _identicalReads = 0;
            raw.CopyTo(_previousRaw);
        }
        _inStall = false;
        return SampleStatus.Ok;
    }

    private SampleStatus EnterStall()
    {
        // Count stall episodes, not stalled ticks (the loop counts those).
        if (!_inStall) _stalls++;
        _inStall = true;
        return SampleStatus.Stalled;
    }

    private void Backoff(int attempt)
    {
        long ticks = (long)(_policy.InitialBackoffSeconds * (1L << Math.Min(attempt, 20)) * _clock.TicksPerSecond);
        _clock.WaitUntil(_clock.Now + ticks, CancellationToken.None);
    }

    public void Dispose() => _device.Dispose();
}
