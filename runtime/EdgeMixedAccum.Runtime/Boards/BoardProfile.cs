using System.Text.Json;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Runtime.Boards;

/// <summary>One board's data (boards/NAME/board.json): what the core has and which plan it runs by default.</summary>
/// <param name="Features">Linux /proc/cpuinfo feature names the board's CPU has.</param>
/// <param name="Low">Default low precision of the plan (i8 or f16acc).</param>
/// <param name="Tau">Default tau, or null for the precision's default.</param>
/// <param name="CostRatios">fp32 / low cost per multiply-add on this core; null for a precision it only emulates.</param>
public sealed record BoardProfile(string Name, string Title, string Core, string Arch, IReadOnlyList<string> Features,
    string? QemuCpu, Precision Low, float? Tau, EstimatorKind Estimator, int Threads, string PublishProfile,
    IReadOnlyDictionary<Precision, double?> CostRatios)
{
    public const string FileName = "board.json";

    /// <summary>Reads and checks a board.json; errors name the file and the field.</summary>
    public static BoardProfile Load(string path)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(path)); }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        { throw new EmaException($"board profile '{path}': {e.Message}"); }
        using (doc)
        {
            var r = doc.RootElement;
            string Str(JsonElement o, string key, bool required = true)
            {
                if (o.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String) return v.GetString()!;
                if (!required && (!o.TryGetProperty(key, out v) || v.ValueKind == JsonValueKind.Null)) return "";
                throw new EmaException($"board profile '{path}': '{key}' must be a string");
            }
            if (!r.TryGetProperty("plan", out var plan) || plan.ValueKind != JsonValueKind.Object)
                throw new EmaException($"board profile '{path}': 'plan' must be an object");
            var low = ParsePrecision(Str(plan, "low"), path);
            float? tau = plan.TryGetProperty("tau", out var t) && t.ValueKind == JsonValueKind.Number ? t.GetSingle() : null;
            if (tau is { } tv && !(tv >= 0)) throw new EmaException($"board profile '{path}': plan tau must be >= 0");
            var est = Str(plan, "estimator") switch
            {
                "fused" => EstimatorKind.Fused, "rownorm" => EstimatorKind.RowNorm, "blocked" => EstimatorKind.Blocked,
                var e => throw new EmaException($"board profile '{path}': unknown estimator '{e}'"),
            };
            var features = r.TryGetProperty("features", out var f) && f.ValueKind == JsonValueKind.Array
                ? f.EnumerateArray().Select(x => x.GetString() ?? throw new EmaException($"board profile '{path}': features must be strings")).ToArray()
                : throw new EmaException($"board profile '{path}': 'features' must be an array");
            var ratios = new Dictionary<Precision, double?>();
            if (r.TryGetProperty("cost_ratios", out var cr) && cr.ValueKind == JsonValueKind.Object)
                foreach (var p in cr.EnumerateObject())
                    ratios[ParsePrecision(p.Name, path)] = p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetDouble() : null;
            int threads = r.TryGetProperty("threads", out var th) && th.TryGetInt32(out int n) && n >= 1 ? n
                : throw new EmaException($"board profile '{path}': 'threads' must be an integer >= 1");
            return new BoardProfile(Str(r, "name"), Str(r, "title"), Str(r, "core"), Str(r, "arch"), features,
                Str(r, "qemu_cpu", required: false) is { Length: > 0 } q ? q : null, low, tau, est, threads, Str(r, "publish_profile"), ratios);
        }
    }

    private static Precision ParsePrecision(string s, string path) => s switch
    {
        "i8" => Precision.I8,
        "f16acc" => Precision.F16Acc,
        _ => throw new EmaException($"board profile '{path}': low precision '{s}' is not i8 or f16acc"),
    };

    /// <summary>The boards directory: <paramref name="dir"/> if given, else the first `boards/` holding board
    /// profiles found walking up from the working directory, then from the executable's directory.</summary>
    public static string FindDirectory(string? dir = null)
    {
        if (dir is not null)
            return Directory.Exists(dir) ? dir : throw new EmaException($"boards directory '{dir}' does not exist");
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                var candidate = Path.Combine(d.FullName, "boards");
                if (Directory.Exists(candidate) && Directory.EnumerateFiles(candidate, FileName, SearchOption.AllDirectories).Any()) return candidate;
            }
        throw new EmaException("no boards/ directory with board profiles found from here (pass --boards-dir)");
    }

    /// <summary>Every board in <paramref name="boardsDir"/>, by name.</summary>
    public static IReadOnlyList<string> Names(string boardsDir) =>
        Directory.EnumerateDirectories(boardsDir).Where(d => File.Exists(Path.Combine(d, FileName))).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();

    /// <summary>boards/NAME/board.json; an unknown name lists the known ones.</summary>
    public static BoardProfile Find(string name, string boardsDir)
    {
        var path = Path.Combine(boardsDir, name, FileName);
        if (name.IndexOfAny(['/', '\\']) >= 0 || !File.Exists(path))
            throw new EmaException($"unknown board '{name}' (known: {string.Join(", ", Names(boardsDir))})");
        var b = Load(path);
        if (b.Name != name) throw new EmaException($"board profile '{path}' names itself '{b.Name}', not '{name}'");
        return b;
    }
}
