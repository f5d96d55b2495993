using System.Globalization;
using System.Text;
using EdgeMixedAccum.Study;

namespace EdgeMixedAccum.Converters.Tests.Study;

public sealed class StudyReportTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ema-study-report-" + Guid.NewGuid().ToString("N"));

    public StudyReportTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static StudyRow Row(string format, StudyMethod m, double tau, double frac, double cost, double err,
        double agreement = 0.99, params double[] layers) =>
        new(format, m, tau, frac, cost, 0.97, agreement, err, err * 10, layers);

    // Two formats, every method, two taus; fp16's best mixed/random ratio is at tau 0.05 (4e-3/5e-4 = 8),
    // against 3 at tau 0.025; bf16's is 2.5 at tau 0.1.
    private static List<StudyRow> Crafted() =>
    [
        Row("fp16", StudyMethod.UniformHigh, double.NaN, 1, 1, 0, 1, 1, 1),
        Row("fp16", StudyMethod.UniformLow, double.NaN, 0, 0.5, 1e-2, 0.9, 0, 0),
        Row("fp16", StudyMethod.Random, 0.05, 0.2, 0.6, 4e-3, 0.95, 0.1, 0.3),
        Row("fp16", StudyMethod.Mixed, 0.025, 0.4, 0.7, 1e-4, 0.999, 0.3, 0.5),
        Row("fp16", StudyMethod.Mixed, 0.05, 0.2, 0.6, 5e-4, 0.99, 0.1, 0.3),
        Row("fp16", StudyMethod.Random, 0.025, 0.4, 0.7, 3e-4, 0.98, 0.3, 0.5),
        Row("fp16", StudyMethod.Oracle, 0.05, 0.2, 0.6, 2e-4, 0.995, 0.1, 0.3),
        Row("fp16", StudyMethod.Oracle, 0.025, 0.4, 0.7, 0, 1, 0.3, 0.5),
        Row("bf16", StudyMethod.UniformLow, double.NaN, 0, 0.5, 5e-2, 0.8, 0, 0),
        Row("bf16", StudyMethod.UniformHigh, double.NaN, 1, 1, 0, 1, 1, 1),
        Row("bf16", StudyMethod.Mixed, 0.1, 0.3, 0.65, 2e-3, 0.97, 0.2, 0.4),
        Row("bf16", StudyMethod.Random, 0.1, 0.3, 0.65, 5e-3, 0.9, 0.2, 0.4),
    ];

    private static readonly string[] Layers = ["conv1", "fc,1"];

    // RFC 4180 reader: quoted fields may hold commas, doubled quotes and line breaks; records end with CRLF.
    private static List<List<string>> ParseCsv(string text)
    {
        var records = new List<List<string>>();
        var rec = new List<string>();
        var field = new StringBuilder();
        bool quoted = false, any = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
                continue;
            }
            switch (c)
            {
                case '"': quoted = true; any = true; break;
                case ',': rec.Add(field.ToString()); field.Clear(); any = true; break;
                case '\r': break;
                case '\n': rec.Add(field.ToString()); field.Clear(); records.Add(rec); rec = []; any = false; break;
                default: field.Append(c); any = true; break;
            }
        }
        if (any) { rec.Add(field.ToString()); records.Add(rec); }
        return records;
    }

    private static double ParseNum(string s) => s.Length == 0 ? double.NaN : double.Parse(s, CultureInfo.InvariantCulture);

    [Fact]
    public void Csv_header_lists_the_fixed_columns_then_one_quoted_column_per_layer()
    {
        var path = Path.Combine(_dir, "results.csv");
        StudyReport.WriteCsv(Crafted(), Layers, path);
        var text = File.ReadAllText(path);
        Assert.StartsWith(
            "format,ladder,estimator,criterion,method,tau,recompute_fraction,component_fraction,mid_fraction,cost,top1,agreement,mean_rel_error,max_rel_error," +
            "layer_fraction:conv1,\"layer_fraction:fc,1\"\r\n", text);
        var recs = ParseCsv(text);
        Assert.Equal(1 + Crafted().Count, recs.Count);
        Assert.All(recs, r => Assert.Equal(16, r.Count));
        Assert.Equal("layer_fraction:fc,1", recs[0][15]);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp", SearchOption.AllDirectories).Concat(Directory.GetFiles(_dir, ".*")));
    }

    [Fact]
    public void Csv_row_round_trips_exactly_and_nan_is_an_empty_field()
    {
        // Values whose shortest decimal form needs all 17 digits, a subnormal and a NaN top-1.
        var row = new StudyRow("fp8,e4m3", StudyMethod.Mixed, 0.1 + 0.2, 1.0 / 3, Math.PI / 7, double.NaN,
            0.9876543210123457, 1.2345678901234567e-7, double.Epsilon, [2.0 / 3, 1e-300])
        { Ladder = "fp8,e4m3:fp16", Criterion = "full+sign", ComponentFraction = 0.1 + 0.7, MidFraction = 1e-17 };
        var uniform = new StudyRow("fp16", StudyMethod.UniformLow, double.NaN, 0, 0.5, 0.9, 0.95, 1e-3, 1e-2, [0, 0]);
        var path = Path.Combine(_dir, "sub", "results.csv");
        StudyReport.WriteCsv([row, uniform], Layers, path);
        var recs = ParseCsv(File.ReadAllText(path));
        Assert.Equal(3, recs.Count);
        var f = recs[1];
        Assert.Equal("fp8,e4m3", f[0]);
        Assert.Equal("fp8,e4m3:fp16", f[1]);
        Assert.Equal("fused", f[2]);
        Assert.Equal("full+sign", f[3]);
        Assert.Equal("mixed", f[4]);
        double[] expected = [row.Tau, row.RecomputeFraction, row.ComponentFraction, row.MidFraction, row.Cost, row.Top1, row.Agreement,
            row.MeanRelError, row.MaxRelError, row.LayerFractions[0], row.LayerFractions[1]];
        for (int i = 0; i < expected.Length; i++)
            Assert.Equal(BitConverter.DoubleToInt64Bits(expected[i]), BitConverter.DoubleToInt64Bits(ParseNum(f[i + 5])));
        Assert.Equal("", f[10]); // top1 NaN
        Assert.Equal("fp16:fp32", recs[2][1]); // a row without a ladder is its format's two-level one
        Assert.Equal("", recs[2][3]);
        Assert.Equal("uniform_low", recs[2][4]);
        Assert.Equal("", recs[2][5]); // tau NaN
        Assert.Contains("\"fp8,e4m3\",\"fp8,e4m3:fp16\",fused,full+sign,mixed,", File.ReadAllText(path));
    }

    [Fact]
    public void Csv_rejects_more_layer_fractions_than_names_and_overwrites_an_existing_file()
    {
        var path = Path.Combine(_dir, "results.csv");
        File.WriteAllText(path, "old");
        StudyReport.WriteCsv([], Layers, path);
        Assert.DoesNotContain("old", File.ReadAllText(path));
        var bad = Row("fp16", StudyMethod.Mixed, 0.1, 0.2, 0.6, 1e-3, 0.9, 0.1, 0.2, 0.3);
        Assert.Throws<ArgumentException>(() => StudyReport.WriteCsv([bad], Layers, path));
    }

    private static StudyHeader Header() => new("models/cnn.onnx", "data/fmnist-test.bin", 1000,
        "ema study models/cnn.onnx --data data/fmnist-test.bin --formats fp16,bf16",
        new Dictionary<string, double> { ["fp16"] = 2, ["bf16"] = 2.5 }, Layers);

    [Fact]
    public void Markdown_has_a_sorted_table_per_format_and_the_best_mixed_vs_random_ratio()
    {
        var rows = Crafted();
        var path = Path.Combine(_dir, "report.md");
        StudyReport.WriteMarkdown(rows, Header(), path);
        var md = File.ReadAllText(path);

        Assert.Contains("# Mixed-precision accumulation study", md);
        Assert.Contains("ema study models/cnn.onnx --data data/fmnist-test.bin --formats fp16,bf16", md);
        Assert.Contains("| fp16 | 2 |", md);
        Assert.Contains("| bf16 | 2.5 |", md);

        const string tableHead = "| method | criterion | tau | recomputed MACs % | components % | cost | top-1 | agreement | mean rel. error | max rel. error |";
        int fp16 = md.IndexOf("## fp16\n", StringComparison.Ordinal), bf16 = md.IndexOf("## bf16\n", StringComparison.Ordinal);
        Assert.True(fp16 > 0 && bf16 > fp16);
        var fp16Section = md[fp16..bf16];
        var bf16Section = md[bf16..];
        Assert.Contains(tableHead, fp16Section);
        Assert.Contains(tableHead, bf16Section);

        // fp16 rows sorted by method (enum order) then tau.
        var methodTau = fp16Section[..fp16Section.IndexOf("Recomputed share", StringComparison.Ordinal)].Split('\n').Where(l => l.StartsWith("| ", StringComparison.Ordinal) && !l.StartsWith("| method", StringComparison.Ordinal))
            .Select(l => l.Split('|', StringSplitOptions.TrimEntries)).Where(c => c.Length == 12)
            .Select(c => c[1] + "@" + c[3]).ToList();
        Assert.Equal(["uniform_low@–", "uniform_high@–", "mixed@0.025", "mixed@0.05", "random@0.025", "random@0.05",
            "oracle@0.025", "oracle@0.05"], methodTau);
        Assert.Contains("| mixed |  | 0.025 | 40.00 | 0.00 | 0.7000 | 97.00% | 99.90% | 1.000e-04 | 1.000e-03 |", fp16Section);

        var best16 = StudyReport.BestMixedVsRandom(rows.Where(r => r.Format == "fp16"))!.Value;
        Assert.Equal(4e-3 / 5e-4, best16.Ratio, 12);
        Assert.Equal(0.05, best16.Tau);
        Assert.Contains($"best mixed vs random at equal budget: {StudyReport.RatioText(4e-3 / 5e-4)}x lower error (tau=0.05,", fp16Section);
        Assert.Contains("best mixed vs random at equal budget: 8x lower error (tau=0.05, 20.00% recomputed", fp16Section);
        Assert.Contains("best mixed vs random at equal budget: 2.5x lower error (tau=0.1, 30.00% recomputed", bf16Section);

        Assert.Contains("![fp16-error-vs-cost](fp16-error-vs-cost.png)", fp16Section);
        Assert.Contains("![fp16-accuracy-vs-cost](fp16-accuracy-vs-cost.png)", fp16Section);
        Assert.Contains("![bf16-error-vs-cost](bf16-error-vs-cost.png)", bf16Section);
        Assert.DoesNotContain("fp16-error", bf16Section);
        // Per-layer shares of the mixed rows; the comma in the layer name is harmless in markdown.
        Assert.Contains("| criterion | tau | conv1 | fc,1 |", fp16Section);
        Assert.Contains("|  | 0.025 | 30.00 | 50.00 |", fp16Section);
        // The authors' table: top-1 of the ladder's two ends (no fp32 reference row here) and of mixed.
        Assert.Contains("| criterion | tau | fp16 | fp32 | fp32 | mixed | inner products recomputed % |", fp16Section);
        Assert.Contains("|  | 0.05 | 97.00% | 97.00% | – | 97.00% | 0.00 | 20.00 | 5.000e-04 | 4.000e-03 |", fp16Section);
    }

    [Fact]
    public void Criteria_are_compared_at_equal_share_by_interpolating_each_curve()
    {
        StudyRow M(string c, double tau, double share, double err, double top1) =>
            new("fp8-e4m3", StudyMethod.Mixed, tau, share, 0.5 + share, top1, 1, err, err, []) { Ladder = "fp8-e4m3:fp16", Criterion = c };
        var full = new[] { M("full", 1, 0.1, 1e-1, 0.8), M("full", 0.1, 0.3, 1e-3, 0.9) };
        // Halfway in share between 1e-1 and 1e-3 is 1e-2 in log scale; top-1 halfway between 80% and 90%.
        var at = StudyReport.AtShare(full, 0.2)!.Value;
        Assert.Equal(1e-2, at.Error, 12);
        Assert.Equal(0.85, at.Top1, 12);
        Assert.Equal(1e-3, StudyReport.AtShare(full, 0.3)!.Value.Error);
        Assert.Null(StudyReport.AtShare(full, 0.05));
        Assert.Null(StudyReport.AtShare(full, 0.302));
        Assert.Equal(1e-3, StudyReport.AtShare(full, 0.3005)!.Value.Error); // within 0.1 point: that row

        var rows = new List<StudyRow>(full) { M("authors", 0.5, 0.2, 5e-2, 0.82) };
        rows.Add(new StudyRow("fp8-e4m3", StudyMethod.UniformLow, double.NaN, 0, 0.25, 0.7, 0.8, 0.3, 0.5, []) { Ladder = "fp8-e4m3:fp16" });
        rows.Add(new StudyRow("fp8-e4m3", StudyMethod.UniformHigh, double.NaN, 1, 0.5, 0.9, 1, 1e-3, 1e-3, []) { Ladder = "fp8-e4m3:fp16" });
        var path = Path.Combine(_dir, "share.md");
        StudyReport.WriteMarkdown(rows, Header() with { LayerNames = [] }, path);
        var md = File.ReadAllText(path);
        Assert.Contains("## fp8-e4m3:fp16\n", md);
        Assert.Contains("Criteria at equal share", md);
        // The authors' row at 20% against full's curve there: 1e-2 and 85%.
        Assert.Contains("| authors | 0.5 | 20.00 | 5.000e-02 | 82.00% | – | – | 1.000e-02 | 85.00% |", md);
        Assert.Contains("| criterion | tau | fp8-e4m3 | fp16 | fp32 | mixed |", md);
    }

    [Fact]
    public void Markdown_without_random_rows_says_so()
    {
        var rows = Crafted().Where(r => r.Method != StudyMethod.Random).ToList();
        var path = Path.Combine(_dir, "report.md");
        StudyReport.WriteMarkdown(rows, Header(), path);
        Assert.Contains("best mixed vs random at equal budget: n/a", File.ReadAllText(path));
    }

    [Fact]
    public void Plots_are_png_files_per_format_and_survive_zero_and_nan_errors()
    {
        var rows = Crafted();
        rows.Add(Row("fp16", StudyMethod.Oracle, 0.1, 0.1, 0.55, double.NaN, double.NaN, 0, 0));
        var dir = Path.Combine(_dir, "plots");
        var files = StudyPlots.Write(rows, dir);
        Assert.Equal([.. StudyPlots.FileNames("fp16"), .. StudyPlots.FileNames("bf16"), .. StudyPlots.LadderFileNames], files);
        Assert.Equal(10, files.Count);
        foreach (var f in files)
        {
            var bytes = File.ReadAllBytes(Path.Combine(dir, f));
            Assert.True(bytes.Length > 10_000, $"{f}: only {bytes.Length} bytes");
            Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        }
        Assert.Equal(files.Order(), Directory.GetFiles(dir).Select(Path.GetFileName).Order());
        Assert.Empty(StudyPlots.Write([], Path.Combine(_dir, "none")));
    }
}
