using System.Globalization;

namespace EdgeMixedAccum.Runtime.Loop;

/// <summary>
/// Hand-formatted JSON lines (NativeAOT-safe, no serializer metadata). Records are formatted into a reused char
/// buffer, so writing one allocates nothing beyond what the TextWriter itself does.
/// </summary>
public sealed class LoopJsonWriter(TextWriter writer)
{
    private readonly char[] _buffer = new char[512];

    public void Write(LoopRecord r)
    {
        var b = new Builder(_buffer);
        b.Raw("{\"t\":"); b.Num(r.TimeSeconds);
        b.Raw(",\"sample\":"); b.Int(r.SampleIndex);
        b.Raw(",\"class\":"); b.Int(r.ClassIndex);
        b.Raw(",\"score\":"); b.Num(r.Score);
        b.Raw(",\"recompute\":"); b.Num(r.RecomputeFraction);
        b.Raw(",\"max_bound\":"); b.Num(r.MaxErrorBound);
        b.Raw(",\"latency_us\":"); b.Num(Math.Round(r.LatencyMicroseconds, 1));
        b.Raw("}");
        writer.WriteLine(_buffer.AsSpan(0, b.Length));
    }

    public void Write(LoopSummary s)
    {
        var b = new Builder(_buffer);
        b.Raw("{\"summary\":true,\"stopped_by\":\"");
        b.Raw(s.StoppedBy == LoopStopReason.Cancelled ? "cancelled" : "end_of_stream");
        b.Raw("\",\"samples\":"); b.Int(s.Samples);
        b.Raw(",\"inferences\":"); b.Int(s.Inferences);
        b.Raw(",\"latency_us_p50\":"); b.Num(Math.Round(s.LatencyP50Microseconds, 1));
        b.Raw(",\"latency_us_p95\":"); b.Num(Math.Round(s.LatencyP95Microseconds, 1));
        b.Raw(",\"latency_us_p99\":"); b.Num(Math.Round(s.LatencyP99Microseconds, 1));
        b.Raw(",\"deadline_misses\":"); b.Int(s.DeadlineMisses);
        b.Raw(",\"faults\":"); b.Int(s.Faults);
        b.Raw(",\"faults_recovered\":"); b.Int(s.FaultsRecovered);
        b.Raw(",\"stalls\":"); b.Int(s.Stalls);
        b.Raw(",\"stalled_ticks\":"); b.Int(s.StalledTicks);
        b.Raw(",\"missing_ticks\":"); b.Int(s.MissingTicks);
        b.Raw(",\"elapsed_s\":"); b.Num(s.ElapsedSeconds);
        b.Raw("}");
        writer.WriteLine(_buffer.AsSpan(0, b.Length));
    }

    private ref struct Builder(Span<char> buffer)
    {
        private readonly Span<char> _buf = buffer;
        public int Length;

        public void Raw(ReadOnlySpan<char> s)
        {
            s.CopyTo(_buf[Length..]);
            Length += s.Length;
        }

        public void Int(long v)
        {
            v.TryFormat(_buf[Length..], out int n, default, CultureInfo.InvariantCulture);
            Length += n;
        }

        public void Num(float v)
        {
            if (!float.IsFinite(v)) { Raw("null"); return; }
            v.TryFormat(_buf[Length..], out int n, "R", CultureInfo.InvariantCulture);
            Length += n;
        }

        public void Num(double v)
        {
            // JSON has no NaN/Infinity.
            if (!double.IsFinite(v)) { Raw("null"); return; }
            v.TryFormat(_buf[Length..], out int n, "R", CultureInfo.InvariantCulture);
            Length += n;
        }
    }
}
