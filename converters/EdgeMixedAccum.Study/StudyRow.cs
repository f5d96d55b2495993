namespace EdgeMixedAccum.Study;

/// <summary>How a study run chooses the components recomputed in high precision.</summary>
public enum StudyMethod
{
    /// <summary>Every component in the low format.</summary>
    UniformLow,
    /// <summary>Every component in fp32.</summary>
    UniformHigh,
    /// <summary>Algorithm 1: kappa_phi * bound / |s_hat| &gt; tau (and the sign guard).</summary>
    Mixed,
    /// <summary>As many components per layer and sample as Mixed flagged, chosen uniformly at random.</summary>
    Random,
    /// <summary>As many as Mixed flagged, the ones with the largest actual error after the activation.</summary>
    Oracle,
}

/// <summary>One line of results.csv: one format, method and tau over the whole evaluation set.</summary>
/// <param name="Tau">The flag tolerance (NaN for the uniform methods).</param>
/// <param name="RecomputeFraction">Multiply-adds done in high precision over all multiply-adds.</param>
/// <param name="Cost">Modelled cost normalised by uniform fp32 (docs/study.md).</param>
/// <param name="Top1">Top-1 accuracy against the labels (NaN without labels).</param>
/// <param name="Agreement">Top-1 agreement with the fp32 evaluation.</param>
/// <param name="MeanRelError">Mean over samples of ||y - y64||_2 / ||y64||_2.</param>
/// <param name="LayerFractions">Per Dense/Conv layer, in graph order: share of its multiply-adds recomputed.</param>
public sealed record StudyRow(string Format, StudyMethod Method, double Tau, double RecomputeFraction, double Cost,
    double Top1, double Agreement, double MeanRelError, double MaxRelError, IReadOnlyList<double> LayerFractions)
{
    /// <summary>Estimator of (|W||x|)_i in the mixed test: fused or rownorm (uniform rows carry their series' one).</summary>
    public string Estimator { get; init; } = "fused";

    /// <summary>The curve a row belongs to in tables and plots: the format, plus the estimator when not fused.</summary>
    public string Series => Estimator == "fused" ? Format : $"{Format}+{Estimator}";

    /// <summary>The method's name in results.csv: uniform_low, uniform_high, mixed, random, oracle.</summary>
    public static string MethodName(StudyMethod m) => m switch
    {
        StudyMethod.UniformLow => "uniform_low",
        StudyMethod.UniformHigh => "uniform_high",
        StudyMethod.Mixed => "mixed",
        StudyMethod.Random => "random",
        _ => "oracle",
    };
}
