using EdgeMixedAccum.Converters.Onnx;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Fuzzing;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Runtime.Engine;

namespace EdgeMixedAccum.Fuzz;

/// <summary>A typed error that still means a bug (the importer's own "internal error" wrapper): a crash for the fuzzer.</summary>
public sealed class FuzzFinding(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// The fuzz targets. Each takes one input; returning (or an <see cref="EmaException"/>, the project's typed
/// error for bad input) is a pass, any other exception escapes and is a crash. Hangs are caught by the
/// fuzzer's timeout.
/// </summary>
public static class Targets
{
    /// <summary>Models whose activations are larger than this are read but not run: keeps one execution in
    /// milliseconds (the limits on tensor size are tested elsewhere).</summary>
    private const long MaxRunElements = 1 << 18;

    /// <summary>Each target returns whether the input was accepted (loaded), false when it was refused with a typed error.</summary>
    public static readonly IReadOnlyDictionary<string, Func<byte[], bool>> All = new Dictionary<string, Func<byte[], bool>>
    {
        ["ema"] = b => { EmaRepair.Repair(b); return Ema(b); },
        ["ema-raw"] = Ema,
        ["onnx"] = Onnx,
        ["onnx-struct"] = OnnxStruct.Run,
        // Checks the pipeline itself: a planted bug (any change of the first byte of the seeds, the magic's 0x89) that
        // run-afl.sh must report as a crash within seconds.
        // (It reads the input first so that AFL sees instrumented code run.)
        ["canary"] = b =>
        {
            try { EmaReader.Read(b, "canary"); } catch (EmaException) { }
            if (b.Length > 0 && b[0] != 0x89) throw new IndexOutOfRangeException("canary");
            return true;
        },
    };

    /// <summary>The .ema reader, then a session on what it accepted and one inference of zeros.</summary>
    public static bool Ema(byte[] bytes)
    {
        EmaModel model;
        try { model = EmaReader.Read(bytes, "fuzz.ema"); }
        catch (EmaException) { return false; }
        long elements = 0;
        foreach (var v in model.Graph.Values)
            if (!v.IsConstant) elements += Shapes.Elements(v.Shape.Select(d => d == Shapes.Batch ? 1 : d).ToArray(), v.Name);
        if (elements > MaxRunElements) return true;
        try
        {
            using var s = new Session(model);
            var y = new float[s.OutputLength];
            s.Run(new float[s.InputLength], y);
        }
        catch (EmaException) { }
        return true;
    }

    /// <summary>The ONNX importer (parse, passes, lowering); an accepted graph is also written as .ema and read back.</summary>
    public static bool Onnx(byte[] bytes)
    {
        OnnxImportResult r;
        try { r = OnnxImporter.Import(bytes, "fuzz.onnx"); }
        catch (EmaException e) when (!e.Message.Contains("internal error", StringComparison.Ordinal)) { return false; }
        catch (EmaException e) { throw new FuzzFinding(e.Message, e); }
        byte[] ema;
        try { ema = EmaWriter.ToBytes(new EmaModel(new ModelMetadata { ModelName = "fuzz" }, r.Graph)); }
        catch (EmaException) { return true; } // e.g. a graph the runtime format cannot hold; the importer's result is what is fuzzed
        EmaReader.Read(ema, "fuzz roundtrip"); // what the writer wrote must read back: an exception here is a finding
        return true;
    }
}
