using EdgeMixedAccum.Runtime.Engine;

namespace EdgeMixedAccum.Runtime.Loop;

/// <summary>
/// The engine behind a loop (ema loop, or a user's app): runs the session on the window, reports the top class and its
/// softmax probability, the share of multiply-adds recomputed in fp32 and the largest predicted relative error kept at
/// low precision. Allocation-free per call. The window is the model's input for one sample ([channels, window]).
/// </summary>
public sealed class SessionInference(Session session) : IWindowInference
{
    private readonly float[] _y = new float[session.OutputLength];

    public InferenceOutcome Infer(ReadOnlySpan<float> window)
    {
        session.Run(window, _y);
        int best = 0;
        for (int i = 1; i < _y.Length; i++) if (_y[i] > _y[best]) best = i;
        double sum = 0;
        foreach (var v in _y) sum += Math.Exp(v - _y[best]);
        var report = session.LastReport;
        return new InferenceOutcome(best, (float)(1 / sum), report.RecomputeFraction, report.MaxPredictedRelError);
    }
}
