namespace EdgeMixedAccum.Study;

/// <summary>How a study run chooses the components recomputed in high precision.</summary>
public enum StudyMethod
{
    /// <summary>Every component in the ladder's lowest format.</summary>
    UniformLow,
    /// <summary>Every component in the ladder's highest format.</summary>
    UniformHigh,
    /// <summary>Algorithm 1: each component in the cheapest level the criterion accepts (docs/study.md).</summary>
    Mixed,
    /// <summary>As many components per layer, sample and level as Mixed chose, picked uniformly at random.</summary>
    Random,
    /// <summary>As many as Mixed chose per level, the ones with the largest actual error after the activation.</summary>
    Oracle,
}

/// <summary>One line of results.csv: one ladder, estimator, criterion, method and tau over the whole evaluation set.</summary>
/// <param name="Format">The ladder's lowest format (the low pass).</param>
/// <param name="Tau">The flag tolerance (NaN for the uniform methods).</param>
/// <param name="RecomputeFraction">Multiply-adds done above the low format (any higher level) over all multiply-adds.</param>
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

    /// <summary>The precision ladder, low to high ("fp16:fp32", "fp8-e4m3:fp16", "i8:fp16:fp32"); "fp32" for the fp32 reference row.</summary>
    public string Ladder { get; init; } = "";

    /// <summary>The flag criterion (full, full+sign, authors) that chose, or set the budget of, the components; empty for uniform rows.</summary>
    public string Criterion { get; init; } = "";

    /// <summary>Components (inner products) recomputed above the low format over all components, not weighted by length (the authors' share).</summary>
    public double ComponentFraction { get; init; }

    /// <summary>Multiply-adds done at the ladder's middle level (three-level ladders; 0 otherwise) over all multiply-adds.</summary>
    public double MidFraction { get; init; }

    /// <summary>The curve a row belongs to in tables and plots: the ladder (just the low format when the ladder is
    /// low:fp32), plus the estimator when not fused.</summary>
    public string Series
    {
        get
        {
            string l = Ladder.Length == 0 || Ladder == Format + ":fp32" ? Format : Ladder;
            return Estimator == "fused" ? l : $"{l}+{Estimator}";
        }
    }

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
