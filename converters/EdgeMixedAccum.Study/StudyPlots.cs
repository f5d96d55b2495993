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

    /// <summary>The two file names written for a format: error vs cost, then accuracy vs cost.</summary>
    public static IReadOnlyList<string> FileNames(string format)
    {
        var f = SafeName(format);
        return [f + "-error-vs-cost.png", f + "-accuracy-vs-cost.png"];
    }

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

            using (var plot = ErrorPlot(format, fr)) Save(plot, Path.Combine(dir, names[0]));
            written.Add(names[0]);
            using (var plot = AccuracyPlot(format, fr)) Save(plot, Path.Combine(dir, names[1]));
            written.Add(names[1]);
        }
        return written;
    }

    static Plot ErrorPlot(string format, List<StudyRow> rows)
    {
        var plot = new Plot();
        // ScottPlot 5 has no logarithmic axis: plot log10(error) and label the ticks as powers of ten.
        // Non-positive errors are clamped to ErrorFloor first so log10 stays finite.
        AddSeries(plot, rows, r => r.MeanRelError, e => Math.Log10(Math.Max(e, ErrorFloor)));
        var ticks = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = y => "1e" + Math.Round(y).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        plot.Axes.Left.TickGenerator = ticks;
        plot.Grid.MinorLineColor = Colors.Black.WithOpacity(.05);
        plot.Grid.MinorLineWidth = 1;
        plot.Title($"{format}: mean relative error vs cost");
        plot.XLabel("modelled cost (uniform fp32 = 1)");
        plot.YLabel("mean relative error (log scale)");
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    static Plot AccuracyPlot(string format, List<StudyRow> rows)
    {
        var plot = new Plot();
        AddSeries(plot, rows, r => r.Agreement, a => a * 100);
        plot.Title($"{format}: top-1 agreement with fp32 vs cost");
        plot.XLabel("modelled cost (uniform fp32 = 1)");
        plot.YLabel("top-1 agreement with fp32 (%)");
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    // One line+markers per selective method sorted by cost; uniform_low/uniform_high as single large markers.
    // Rows whose x or y is NaN/infinite are left out.
    static void AddSeries(Plot plot, List<StudyRow> rows, Func<StudyRow, double> value, Func<double, double> toY)
    {
        foreach (var method in Enum.GetValues<StudyMethod>())
        {
            var pts = rows.Where(r => r.Method == method)
                .Select(r => (X: r.Cost, Y: toY(value(r))))
                .Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y))
                .OrderBy(p => p.X).ToArray();
            if (pts.Length == 0) continue;
            var sp = plot.Add.Scatter(pts.Select(p => p.X).ToArray(), pts.Select(p => p.Y).ToArray());
            sp.LegendText = StudyRow.MethodName(method);
            bool uniform = method is StudyMethod.UniformLow or StudyMethod.UniformHigh;
            if (uniform)
            {
                sp.LineWidth = 0;
                sp.MarkerSize = 12;
                sp.MarkerShape = method == StudyMethod.UniformLow ? MarkerShape.FilledSquare : MarkerShape.FilledDiamond;
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
        var bad = Path.GetInvalidFileNameChars();
        var chars = format.Select(c => bad.Contains(c) || char.IsWhiteSpace(c) ? '_' : c).ToArray();
        var s = new string(chars);
        return s.Length == 0 ? "_" : s;
    }
}
