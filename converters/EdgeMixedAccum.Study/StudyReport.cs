using System.Globalization;
using System.Text;

namespace EdgeMixedAccum.Study;

/// <summary>What a study report says about the run that produced it.</summary>
/// <param name="Model">The model file (or its name).</param>
/// <param name="Data">The evaluation data set.</param>
/// <param name="Samples">Number of samples evaluated.</param>
/// <param name="Command">The command line that reproduces the run.</param>
/// <param name="CostRatios">Per low-precision format: the modelled cost ratio c_high / c_low.</param>
/// <param name="LayerNames">The Dense/Conv layers in graph order, matching <see cref="StudyRow.LayerFractions"/>.</param>
public sealed record StudyHeader(string Model, string Data, int Samples, string Command,
    IReadOnlyDictionary<string, double> CostRatios, IReadOnlyList<string> LayerNames)
{
    /// <summary>Wall-clock figures measured with the runtime on this machine (label -> text), printed under the cost ratios.</summary>
    public IReadOnlyList<(string Label, string Value)> Measured { get; init; } = [];
}

/// <summary>results.csv and the markdown summary of a study run (issue 5).</summary>
public static class StudyReport
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The fixed leading columns of results.csv; one <c>layer_fraction:&lt;name&gt;</c> column per layer follows.</summary>
    public static readonly IReadOnlyList<string> CsvColumns =
        ["format", "ladder", "estimator", "criterion", "method", "tau", "recompute_fraction", "component_fraction", "mid_fraction",
         "cost", "top1", "agreement", "mean_rel_error", "max_rel_error"];

    /// <summary>
    /// Writes one line per row: invariant culture, round-trip ("R") numbers, NaN as an empty field, fields with a
    /// comma, quote or line break quoted as in RFC 4180 (CRLF line ends). A row with fewer layer fractions than
    /// <paramref name="layerNames"/> leaves the missing ones empty; more is an error. Written atomically.
    /// </summary>
    public static void WriteCsv(IReadOnlyList<StudyRow> rows, IReadOnlyList<string> layerNames, string path)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(layerNames);
        var sb = new StringBuilder();
        var fields = new List<string>(CsvColumns);
        foreach (var name in layerNames) fields.Add("layer_fraction:" + name);
        AppendCsvLine(sb, fields);
        foreach (var r in rows)
        {
            if (r.LayerFractions.Count > layerNames.Count)
                throw new ArgumentException(
                    $"row {r.Format}/{StudyRow.MethodName(r.Method)}/tau={CsvNumber(r.Tau)} has {r.LayerFractions.Count} " +
                    $"layer fractions but there are {layerNames.Count} layer names", nameof(rows));
            fields.Clear();
            fields.Add(r.Format);
            fields.Add(r.Ladder.Length == 0 ? r.Format + ":fp32" : r.Ladder);
            fields.Add(r.Estimator);
            fields.Add(r.Criterion);
            fields.Add(StudyRow.MethodName(r.Method));
            fields.Add(CsvNumber(r.Tau));
            fields.Add(CsvNumber(r.RecomputeFraction));
            fields.Add(CsvNumber(r.ComponentFraction));
            fields.Add(CsvNumber(r.MidFraction));
            fields.Add(CsvNumber(r.Cost));
            fields.Add(CsvNumber(r.Top1));
            fields.Add(CsvNumber(r.Agreement));
            fields.Add(CsvNumber(r.MeanRelError));
            fields.Add(CsvNumber(r.MaxRelError));
            for (int i = 0; i < layerNames.Count; i++)
                fields.Add(i < r.LayerFractions.Count ? CsvNumber(r.LayerFractions[i]) : "");
            AppendCsvLine(sb, fields);
        }
        WriteAtomic(path, sb.ToString());
    }

    /// <summary>
    /// Writes the summary: title, reproducing command, cost ratios, per format a table sorted by method then tau,
    /// the per-layer recomputed shares of the mixed rows, the best mixed-vs-random error ratio at equal budget and
    /// links to the format's plots. <paramref name="plotFiles"/> are the file names (relative to the markdown's
    /// directory) as returned by <see cref="StudyPlots.Write"/>; null links the names StudyPlots uses for each
    /// format. Written atomically.
    /// </summary>
    public static void WriteMarkdown(IReadOnlyList<StudyRow> rows, StudyHeader header, string path,
        IReadOnlyList<string>? plotFiles = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(header);
        var sb = new StringBuilder();
        sb.Append("# Mixed-precision accumulation study: ").Append(Cell(header.Model)).Append("\n\n");
        sb.Append("- model: `").Append(header.Model).Append("`\n");
        sb.Append("- data: `").Append(header.Data).Append("` (").Append(header.Samples.ToString(Inv)).Append(" samples)\n");
        if (header.LayerNames.Count > 0)
            sb.Append("- layers (graph order): ").Append(string.Join(", ", header.LayerNames.Select(n => "`" + n + "`"))).Append('\n');
        sb.Append("\nReproduce with:\n\n```\n").Append(header.Command).Append("\n```\n\n");

        var formats = FormatsInOrder(rows);
        sb.Append("## Cost per multiply-add\n\nCost of an fp32 multiply-add over the format's (docs/study.md):\n\n| format | c_fp32 / c_format |\n|---|---:|\n");
        foreach (var (f, c) in header.CostRatios)
            sb.Append("| ").Append(Cell(f)).Append(" | ").Append(Num(c, "0.###")).Append(" |\n");
        sb.Append('\n');
        if (header.Measured.Count > 0)
        {
            sb.Append("## Measured with the runtime on this machine\n\n| what | value |\n|---|---|\n");
            foreach (var (label, value) in header.Measured) sb.Append("| ").Append(Cell(label)).Append(" | ").Append(Cell(value)).Append(" |\n");
            sb.Append('\n');
        }

        var fp32 = rows.FirstOrDefault(r => r.Ladder == "fp32");
        if (fp32 is not null)
            sb.Append("fp32 reference (every component in fp32): top-1 ").Append(Pct(fp32.Top1)).Append(", mean rel. error ")
              .Append(Num(fp32.MeanRelError, "0.000e+00")).Append(" against fp64.\n\n");

        foreach (var f in formats)
        {
            var fr = rows.Where(r => r.Series == f).OrderBy(r => (int)r.Method).ThenBy(r => r.Criterion, StringComparer.Ordinal).ThenBy(r => r.Tau, TauOrder).ToList();
            bool mid = fr.Any(r => r.MidFraction > 0);
            sb.Append("## ").Append(Cell(f)).Append("\n\n");
            sb.Append("| method | criterion | tau | recomputed MACs % | components % |").Append(mid ? " of which middle level % |" : "")
              .Append(" cost | top-1 | agreement | mean rel. error | max rel. error |\n");
            sb.Append("|---|---|---:|---:|---:|").Append(mid ? "---:|" : "").Append("---:|---:|---:|---:|---:|\n");
            foreach (var r in fr)
            {
                sb.Append("| ").Append(StudyRow.MethodName(r.Method))
                  .Append(" | ").Append(Cell(r.Criterion))
                  .Append(" | ").Append(Num(r.Tau, "G6"))
                  .Append(" | ").Append(Num(r.RecomputeFraction * 100, "0.00"))
                  .Append(" | ").Append(Num(r.ComponentFraction * 100, "0.00"));
                if (mid) sb.Append(" | ").Append(Num(r.MidFraction * 100, "0.00"));
                sb.Append(" | ").Append(Num(r.Cost, "0.0000"))
                  .Append(" | ").Append(Pct(r.Top1))
                  .Append(" | ").Append(Pct(r.Agreement))
                  .Append(" | ").Append(Num(r.MeanRelError, "0.000e+00"))
                  .Append(" | ").Append(Num(r.MaxRelError, "0.000e+00"))
                  .Append(" |\n");
            }
            sb.Append('\n');

            var mixed = fr.Where(r => r.Method == StudyMethod.Mixed).ToList();
            if (header.LayerNames.Count > 0 && mixed.Count > 0)
            {
                sb.Append("Recomputed share per layer (mixed), %:\n\n| criterion | tau |");
                foreach (var n in header.LayerNames) sb.Append(' ').Append(Cell(n)).Append(" |");
                sb.Append("\n|---|---:|");
                foreach (var _ in header.LayerNames) sb.Append("---:|");
                sb.Append('\n');
                foreach (var r in mixed)
                {
                    sb.Append("| ").Append(Cell(r.Criterion)).Append(" | ").Append(Num(r.Tau, "G6")).Append(" |");
                    for (int i = 0; i < header.LayerNames.Count; i++)
                        sb.Append(' ').Append(i < r.LayerFractions.Count ? Num(r.LayerFractions[i] * 100, "0.00") : "n/a").Append(" |");
                    sb.Append('\n');
                }
                sb.Append('\n');
            }

            var criteria = mixed.Select(r => r.Criterion).Distinct().ToList();
            foreach (var c in criteria.DefaultIfEmpty(""))
                sb.Append(criteria.Count > 1 ? $"[{c}] " : "").Append(BestMixedVsRandomLine(fr.Where(r => r.Criterion == c || r.Method is StudyMethod.UniformLow or StudyMethod.UniformHigh).ToList())).Append("\n\n");
            AppendAuthorsTable(sb, fr, fp32);
            if (criteria.Count > 1) AppendEqualShare(sb, mixed, criteria);

            var pngs = plotFiles is null
                ? StudyPlots.FileNames(f)
                : plotFiles.Where(p => StudyPlots.FileNames(f).Contains(Path.GetFileName(p))).ToList();
            if (pngs.Count > 0)
            {
                sb.Append("Plots:\n\n");
                foreach (var p in pngs)
                    sb.Append("- ![").Append(Path.GetFileNameWithoutExtension(p)).Append("](")
                      .Append(Uri.EscapeDataString(Path.GetFileName(p))).Append(")\n");
                sb.Append('\n');
            }
        }
        if (formats.Count > 1 && (plotFiles is null || StudyPlots.LadderFileNames.All(n => plotFiles.Any(p => Path.GetFileName(p) == n))))
        {
            sb.Append("## Every series together\n\n");
            foreach (var n in StudyPlots.LadderFileNames)
                sb.Append("- ![").Append(Path.GetFileNameWithoutExtension(n)).Append("](").Append(Uri.EscapeDataString(n)).Append(")\n");
            sb.Append('\n');
        }
        WriteAtomic(path, sb.ToString());
    }

    /// <summary>The authors' table (tau, top-1 of uniform low, uniform high, fp32 and mixed, share recomputed), one per criterion.</summary>
    static void AppendAuthorsTable(StringBuilder sb, List<StudyRow> fr, StudyRow? fp32)
    {
        var low = fr.FirstOrDefault(r => r.Method == StudyMethod.UniformLow);
        var high = fr.FirstOrDefault(r => r.Method == StudyMethod.UniformHigh);
        var mixed = fr.Where(r => r.Method == StudyMethod.Mixed).ToList();
        if (low is null || high is null || mixed.Count == 0) return;
        var levels = (low.Ladder.Length == 0 ? low.Format + ":fp32" : low.Ladder).Split(':');
        sb.Append("In the authors' format (top-1 accuracy; shares of inner products recomputed, unweighted, and of multiply-adds):\n\n");
        sb.Append("| criterion | tau | ").Append(Cell(levels[0])).Append(" | ").Append(Cell(levels[^1])).Append(" | fp32 | mixed | inner products recomputed % | MACs recomputed % | mixed mean rel. error | random mean rel. error |\n");
        sb.Append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (var m in mixed.OrderBy(r => r.Criterion, StringComparer.Ordinal).ThenByDescending(r => r.Tau))
        {
            var rnd = fr.FirstOrDefault(r => r.Method == StudyMethod.Random && r.Criterion == m.Criterion && TauEqual(r.Tau, m.Tau));
            sb.Append("| ").Append(Cell(m.Criterion)).Append(" | ").Append(Num(m.Tau, "G6"))
              .Append(" | ").Append(Pct(low.Top1)).Append(" | ").Append(Pct(high.Top1)).Append(" | ").Append(Pct(fp32?.Top1 ?? double.NaN))
              .Append(" | ").Append(Pct(m.Top1)).Append(" | ").Append(Num(m.ComponentFraction * 100, "0.00")).Append(" | ").Append(Num(m.RecomputeFraction * 100, "0.00"))
              .Append(" | ").Append(Num(m.MeanRelError, "0.000e+00")).Append(" | ").Append(Num(rnd?.MeanRelError ?? double.NaN, "0.000e+00")).Append(" |\n");
        }
        sb.Append('\n');
    }

    /// <summary>Each criterion's mixed rows against the others' curves at the same share of multiply-adds recomputed.</summary>
    static void AppendEqualShare(StringBuilder sb, List<StudyRow> mixed, List<string> criteria)
    {
        sb.Append("Criteria at equal share of multiply-adds recomputed (the other criteria's mean rel. error and top-1 interpolated on their curves, log-linear in the error; – outside their range):\n\n");
        sb.Append("| criterion | tau | MACs recomputed % | mean rel. error | top-1 |");
        foreach (var c in criteria) sb.Append(' ').Append(Cell(c)).Append(" error | ").Append(Cell(c)).Append(" top-1 |");
        sb.Append("\n|---|---:|---:|---:|---:|");
        foreach (var _ in criteria) sb.Append("---:|---:|");
        sb.Append('\n');
        foreach (var m in mixed.OrderBy(r => r.RecomputeFraction))
        {
            sb.Append("| ").Append(Cell(m.Criterion)).Append(" | ").Append(Num(m.Tau, "G6")).Append(" | ").Append(Num(m.RecomputeFraction * 100, "0.00"))
              .Append(" | ").Append(Num(m.MeanRelError, "0.000e+00")).Append(" | ").Append(Pct(m.Top1)).Append(" |");
            foreach (var c in criteria)
            {
                var at = c == m.Criterion ? null : AtShare(mixed.Where(r => r.Criterion == c), m.RecomputeFraction);
                sb.Append(' ').Append(at is null ? "–" : Num(at.Value.Error, "0.000e+00")).Append(" | ").Append(at is null ? "–" : Pct(at.Value.Top1)).Append(" |");
            }
            sb.Append('\n');
        }
        sb.Append('\n');
    }

    /// <summary>
    /// A curve's mean relative error and top-1 at a share of multiply-adds recomputed: a row within 0.1 percentage point,
    /// else linear interpolation between the two rows around it (the error in log scale when both are positive); null
    /// outside the curve's range.
    /// </summary>
    public static (double Error, double Top1)? AtShare(IEnumerable<StudyRow> curve, double share)
    {
        var pts = curve.Where(r => double.IsFinite(r.MeanRelError)).OrderBy(r => r.RecomputeFraction).ToList();
        // Shares within 0.1 percentage point count as equal (a curve that saturates repeats one share): the closest, then the lowest error.
        var near = pts.Where(r => Math.Abs(r.RecomputeFraction - share) <= 1e-3)
            .OrderBy(r => Math.Abs(r.RecomputeFraction - share)).ThenBy(r => r.MeanRelError).FirstOrDefault();
        if (near is not null) return (near.MeanRelError, near.Top1);
        for (int i = 0; i < pts.Count; i++)
        {
            var a = pts[i];
            if (i + 1 >= pts.Count) break;
            var b = pts[i + 1];
            if (a.RecomputeFraction < share && share < b.RecomputeFraction)
            {
                double t = (share - a.RecomputeFraction) / (b.RecomputeFraction - a.RecomputeFraction);
                double err = a.MeanRelError > 0 && b.MeanRelError > 0
                    ? Math.Exp(Math.Log(a.MeanRelError) + t * (Math.Log(b.MeanRelError) - Math.Log(a.MeanRelError)))
                    : a.MeanRelError + t * (b.MeanRelError - a.MeanRelError);
                return (err, a.Top1 + t * (b.Top1 - a.Top1));
            }
        }
        return null;
    }

    /// <summary>
    /// The best (largest) ratio mean_rel_error(random) / mean_rel_error(mixed) over the taus where both methods
    /// have a row (they share tau because random recomputes as many components as mixed flagged), and that tau.
    /// Null when no tau has both with finite, non-negative errors. A mixed error of 0 against a positive random error gives
    /// +infinity; 0 against 0 is skipped.
    /// </summary>
    public static (double Ratio, double Tau, StudyRow Mixed, StudyRow Random)? BestMixedVsRandom(IEnumerable<StudyRow> formatRows)
    {
        var list = formatRows.ToList();
        (double, double, StudyRow, StudyRow)? best = null;
        foreach (var m in list.Where(r => r.Method == StudyMethod.Mixed))
        {
            var rnd = list.FirstOrDefault(r => r.Method == StudyMethod.Random && r.Series == m.Series && r.Criterion == m.Criterion && TauEqual(r.Tau, m.Tau));
            if (rnd is null) continue;
            double a = rnd.MeanRelError, b = m.MeanRelError;
            if (!double.IsFinite(a) || !double.IsFinite(b) || a < 0 || b < 0 || (a == 0 && b == 0)) continue;
            double ratio = a / b;
            if (best is null || ratio > best.Value.Item1) best = (ratio, m.Tau, m, rnd);
        }
        return best;
    }

    static string BestMixedVsRandomLine(IReadOnlyList<StudyRow> fr)
    {
        var best = BestMixedVsRandom(fr);
        if (best is null) return "best mixed vs random at equal budget: n/a (no tau with both a mixed and a random row)";
        var (ratio, tau, m, rnd) = best.Value;
        string detail = $"tau={Num(tau, "G6")}, {Num(m.RecomputeFraction * 100, "0.00")}% recomputed, " +
                        $"mean rel. error {Num(m.MeanRelError, "0.000e+00")} vs {Num(rnd.MeanRelError, "0.000e+00")}";
        if (double.IsPositiveInfinity(ratio))
            return $"best mixed vs random at equal budget: mixed error 0 against random's positive error ({detail})";
        if (ratio < 1)
            return $"best mixed vs random at equal budget: {RatioText(ratio)}x lower error ({detail}) — mixed never beats random here";
        return $"best mixed vs random at equal budget: {RatioText(ratio)}x lower error ({detail})";
    }

    /// <summary>How the markdown prints the mixed-vs-random ratio (three significant digits).</summary>
    public static string RatioText(double ratio) => ratio.ToString("G3", Inv);

    static bool TauEqual(double a, double b) =>
        a == b || (double.IsNaN(a) && double.IsNaN(b)) || Math.Abs(a - b) <= 1e-12 * Math.Max(Math.Abs(a), Math.Abs(b));

    // NaN (the uniform methods' tau) sorts first.
    static readonly IComparer<double> TauOrder = Comparer<double>.Create((a, b) => a.CompareTo(b));

    internal static List<string> FormatsInOrder(IEnumerable<StudyRow> rows)
    {
        var seen = new List<string>();
        foreach (var r in rows) if (r.Ladder != "fp32" && !seen.Contains(r.Series)) seen.Add(r.Series);
        return seen;
    }

    static string Num(double x, string fmt) => double.IsNaN(x) ? "–" : x.ToString(fmt, Inv);
    static string Pct(double x) => double.IsNaN(x) ? "–" : (x * 100).ToString("0.00", Inv) + "%";
    static string Cell(string s) => s.Replace("|", "\\|").Replace("\r", " ").Replace("\n", " ");

    internal static string CsvNumber(double x) => double.IsNaN(x) ? "" : x.ToString("R", Inv);

    static void AppendCsvLine(StringBuilder sb, IReadOnlyList<string> fields)
    {
        for (int i = 0; i < fields.Count; i++)
        {
            if (i > 0) sb.Append(',');
            var f = fields[i];
            if (f.AsSpan().IndexOfAny(",\"\r\n") >= 0) sb.Append('"').Append(f.Replace("\"", "\"\"")).Append('"');
            else sb.Append(f);
        }
        sb.Append("\r\n");
    }

    /// <summary>Writes through a temporary file in the target's directory, then renames it over the target.</summary>
    internal static void WriteAtomic(string path, string text) =>
        WriteAtomic(path, tmp => File.WriteAllText(tmp, text, new UTF8Encoding(false)));

    internal static void WriteAtomic(string path, Action<string> write)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        try
        {
            write(tmp);
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}
