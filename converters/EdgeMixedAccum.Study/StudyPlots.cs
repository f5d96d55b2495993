using ScottPlot;

namespace EdgeMixedAccum.Study;

/// <summary>The study's PNG plots (ScottPlot 5, rendered headless through SkiaSharp).</summary>
public static class StudyPlots
{
    /// <summary>
    /// Floor for mean relative errors on the log axis: an error of 0 (or below, or one that rounded to 0) is drawn at
    /// 1e-12 instead of breaking log10. Real errors of the emulated formats are many orders of magnitude above it.
    /// </summary>
    public const double ErrorFloor = 1e-12;

    const int Width = 900, Height = 540;

    /// <summary>The file names written for a series: error and agreement vs cost, then error and top-1 vs the share of multiply-adds recomputed.</summary>
    public static IReadOnlyList<string> FileNames(string format)
    {
        var f = SafeName(format);
        return [f + "-error-vs-cost.png", f + "-accuracy-vs-cost.png", f + "-error-vs-share.png", f + "-accuracy-vs-share.png"];
    }

    /// <summary>The file names of the plot of every series' mixed curves together (written when there are several series).</summary>
    public static readonly IReadOnlyList<string> LadderFileNames = ["ladders-error-vs-cost.png", "ladders-accuracy-vs-cost.png"];

    /// <summary>
    /// Writes, per format in order of first appearance, <c>&lt;format&gt;-error-vs-cost.png</c> (mean relative error,
    /// log y axis) and <c>&lt;format&gt;-accuracy-vs-cost.png</c> (top-1 agreement with fp32, %) into
    /// <paramref name="dir"/>; returns the file names (not paths). Each file is written atomically.
    /// </summary>
    public static IReadOnlyList<string> Write(IReadOnlyList<StudyRow> rows, string dir)
    {
        ArgumentNullException.ThrowIfNull(rows);
        Directory.CreateDirectory(dir);
        var written = new List<string>();
        foreach (var format in StudyReport.FormatsInOrder(rows))
        {
            var fr = rows.Where(r => r.Series == format).ToList();
            var names = FileNames(format);

            bool labels = fr.Any(r => !double.IsNaN(r.Top1));
            var share = (Func<StudyRow, double>)(r => r.RecomputeFraction * 100);
            const string shareLabel = "multiply-adds recomputed (%)";
            var plots = new[]
            {
                ErrorPlot($"{format}: mean relative error vs cost", Cost, CostLabel, Curves(fr)),
                AccuracyPlot($"{format}: top-1 agreement with fp32 vs cost", Cost, CostLabel, Curves(fr), r => r.Agreement, "top-1 agreement with fp32 (%)"),
                ErrorPlot($"{format}: mean relative error vs share recomputed", share, shareLabel, Curves(fr)),
                labels ? AccuracyPlot($"{format}: top-1 accuracy vs share recomputed", share, shareLabel, Curves(fr), r => r.Top1, "top-1 accuracy (%)")
                       : AccuracyPlot($"{format}: top-1 agreement with fp32 vs share recomputed", share, shareLabel, Curves(fr), r => r.Agreement, "top-1 agreement with fp32 (%)"),
            };
            for (int i = 0; i < plots.Length; i++)
            {
                using (plots[i]) Save(plots[i], Path.Combine(dir, names[i]));
                written.Add(names[i]);
            }
        }
        var series = StudyReport.FormatsInOrder(rows);
        if (series.Count > 1)
        {
            // Every series' mixed curves (and its uniform-low point) on one plot: ladders and estimators compared at equal cost.
            var curves = new List<(string Label, List<StudyRow> Rows, bool Uniform, string Group)>();
            foreach (var f in series)
            {
                var fr = rows.Where(r => r.Series == f).ToList();
                foreach (var c in fr.Where(r => r.Method == StudyMethod.Mixed).Select(r => r.Criterion).Distinct())
                    curves.Add(($"{f} mixed{(c.Length > 0 ? $" ({c})" : "")}", fr.Where(r => r.Method == StudyMethod.Mixed && r.Criterion == c).ToList(), false, f));
                curves.Add(($"{f} uniform low", fr.Where(r => r.Method == StudyMethod.UniformLow).ToList(), true, f));
            }
            using (var plot = ErrorPlot("every series: mean relative error vs cost", Cost, CostLabel, curves)) Save(plot, Path.Combine(dir, LadderFileNames[0]));
            using (var plot = AccuracyPlot("every series: top-1 agreement with fp32 vs cost", Cost, CostLabel, curves, r => r.Agreement, "top-1 agreement with fp32 (%)"))
                Save(plot, Path.Combine(dir, LadderFileNames[1]));
            written.AddRange(LadderFileNames);
        }
        return written;
    }

    const string CostLabel = "modelled cost (uniform fp32 = 1)";
    static double Cost(StudyRow r) => r.Cost;

    /// <summary>One curve per method and criterion (the criterion named only when the series has several).</summary>
    static List<(string Label, List<StudyRow> Rows, bool Uniform, string Group)> Curves(List<StudyRow> rows)
    {
        bool several = rows.Select(r => r.Criterion).Where(c => c.Length > 0).Distinct().Count() > 1;
        var curves = new List<(string, List<StudyRow>, bool, string)>();
        foreach (var method in Enum.GetValues<StudyMethod>())
            foreach (var c in rows.Where(r => r.Method == method).Select(r => r.Criterion).Distinct())
            {
                string label = StudyRow.MethodName(method) + (several && c.Length > 0 ? $" ({c})" : "");
                curves.Add((label, rows.Where(r => r.Method == method && r.Criterion == c).ToList(), method is StudyMethod.UniformLow or StudyMethod.UniformHigh, label));
            }
        return curves;
    }

    static Plot ErrorPlot(string title, Func<StudyRow, double> x, string xLabel, List<(string Label, List<StudyRow> Rows, bool Uniform, string Group)> curves)
    {
        var plot = new Plot();
        // ScottPlot 5 has no logarithmic axis: plot log10(error) and label the ticks as powers of ten.
        // Non-positive errors are clamped to ErrorFloor first so log10 stays finite.
        AddCurves(plot, curves, x, r => Math.Log10(Math.Max(r.MeanRelError, ErrorFloor)));
        var ticks = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = y => "1e" + Math.Round(y).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        plot.Axes.Left.TickGenerator = ticks;
        plot.Grid.MinorLineColor = Colors.Black.WithOpacity(.05);
        plot.Grid.MinorLineWidth = 1;
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel("mean relative error (log scale)");
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    static Plot AccuracyPlot(string title, Func<StudyRow, double> x, string xLabel, List<(string Label, List<StudyRow> Rows, bool Uniform, string Group)> curves,
        Func<StudyRow, double> value, string yLabel)
    {
        var plot = new Plot();
        AddCurves(plot, curves, x, r => value(r) * 100);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    // One line+markers per curve sorted by x; uniform rows as single large markers. Points whose x or y is NaN/infinite are left out.
    // One colour per group: on the every-series plot a series' mixed curve and its uniform-low marker share one.
    static void AddCurves(Plot plot, List<(string Label, List<StudyRow> Rows, bool Uniform, string Group)> curves, Func<StudyRow, double> x, Func<StudyRow, double> y)
    {
        var palette = new ScottPlot.Palettes.Category10();
        var groups = new List<string>();
        foreach (var (label, rows, uniform, group) in curves)
        {
            if (!groups.Contains(group)) groups.Add(group);
            var pts = rows.Select(r => (X: x(r), Y: y(r)))
                .Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y))
                .OrderBy(p => p.X).ToArray();
            if (pts.Length == 0) continue;
            var sp = plot.Add.Scatter(pts.Select(p => p.X).ToArray(), pts.Select(p => p.Y).ToArray(), palette.GetColor(groups.IndexOf(group)));
            sp.LegendText = label;
            if (uniform)
            {
                sp.LineWidth = 0;
                sp.MarkerSize = 12;
                sp.MarkerShape = label.EndsWith("uniform_high", StringComparison.Ordinal) ? MarkerShape.FilledDiamond : MarkerShape.FilledSquare;
            }
            else
            {
                sp.LineWidth = 1.5f;
                sp.MarkerSize = 6;
                sp.MarkerShape = MarkerShape.FilledCircle;
            }
        }
    }

    static void Save(Plot plot, string path) =>
        StudyReport.WriteAtomic(path, tmp => plot.SavePng(tmp, Width, Height));

    static string SafeName(string format)
    {
        var bad = Path.GetInvalidFileNameChars().Append(':').ToArray(); // ladders name series "low:high"; keep file names portable
        var chars = format.Select(c => bad.Contains(c) || char.IsWhiteSpace(c) ? '_' : c).ToArray();
        var s = new string(chars);
        return s.Length == 0 ? "_" : s;
    }
}
