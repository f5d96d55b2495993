namespace EdgeMixedAccum.Runtime.Loop;

/// <summary>What one inference on a window reports back to the loop.</summary>
public readonly record struct InferenceOutcome(int ClassIndex, float Score, double RecomputeFraction, double MaxErrorBound);

/// <summary>Runs the model on a window laid out [channels, window], oldest sample first. Called on the loop thread.</summary>
public interface IWindowInference
{
    InferenceOutcome Infer(ReadOnlySpan<float> window);
}

public delegate InferenceOutcome WindowInferenceFunc(ReadOnlySpan<float> window);

/// <summary>Adapts a delegate to <see cref="IWindowInference"/>.</summary>
public sealed class DelegateInference(WindowInferenceFunc infer) : IWindowInference
{
    public InferenceOutcome Infer(ReadOnlySpan<float> window) => infer(window);
}

/// <summary>One line of loop output: the inference on the window ending at sample <see cref="SampleIndex"/>.</summary>
public readonly record struct LoopRecord(
    double TimeSeconds,
    long SampleIndex,
    int ClassIndex,
    float Score,
    double RecomputeFraction,
    double MaxErrorBound,
    double LatencyMicroseconds);

public enum LoopStopReason { Cancelled, EndOfStream }

public sealed record LoopSummary(
    LoopStopReason StoppedBy,
    long Samples,
    long Inferences,
    double LatencyP50Microseconds,
    double LatencyP95Microseconds,
    double LatencyP99Microseconds,
    long DeadlineMisses,
    long Faults,
    long FaultsRecovered,
    long Stalls,
    long StalledTicks,
    long MissingTicks,
    double ElapsedSeconds);
