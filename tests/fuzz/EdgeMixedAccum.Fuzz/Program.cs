using EdgeMixedAccum.Fuzz;
using SharpFuzz;

// Usage (docs/fuzzing.md):
//   EdgeMixedAccum.Fuzz TARGET                   under afl-fuzz (tests/fuzz/run-afl.sh): input on stdin, in-process loop
//   EdgeMixedAccum.Fuzz replay TARGET PATH...    run files or folders (a corpus, crashes) once each, print the outcome
//   EdgeMixedAccum.Fuzz dump SCRIPT OUT.onnx     the model an onnx-struct input builds
// TARGET: ema (CRCs repaired before reading), ema-raw (bytes as given), onnx, onnx-struct (edit scripts on valid models), canary.
if (args.Length == 0 || (args[0] == "replay" && args.Length < 3))
{
    Console.Error.WriteLine($"usage: EdgeMixedAccum.Fuzz {string.Join('|', Targets.All.Keys)} | replay TARGET PATH...");
    return 2;
}
if (args[0] == "dump" && args.Length == 3)
{
    // The ONNX model an onnx-struct script builds, to keep as a regression input.
    File.WriteAllBytes(args[2], OnnxStruct.Build(File.ReadAllBytes(args[1])) ?? []);
    return 0;
}
if (args[0] == "replay")
{
    if (!Targets.All.TryGetValue(args[1], out var t)) { Console.Error.WriteLine($"unknown target '{args[1]}'"); return 2; }
    var files = args.Skip(2).SelectMany<string, string>(p => Directory.Exists(p) ? Directory.EnumerateFiles(p).Where(f => !Path.GetFileName(f).StartsWith("README", StringComparison.Ordinal)).Order(StringComparer.Ordinal) : [p]);
    int bad = 0, n = 0, accepted = 0;
    foreach (var f in files)
    {
        n++;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            bool ok = t(File.ReadAllBytes(f));
            if (ok) accepted++;
            Console.WriteLine($"{(ok ? "load " : "typed")} {sw.ElapsedMilliseconds,6} ms  {f}");
        }
        catch (Exception e)
        {
            bad++;
            Console.WriteLine($"CRASH {sw.ElapsedMilliseconds,6} ms  {f}: {e.GetType().Name}: {e.Message}");
            Console.WriteLine(e.InnerException?.ToString() ?? e.StackTrace); // the importer wraps its own bugs: show the original
        }
    }
    Console.WriteLine($"replay {args[1]}: {n} inputs, {accepted} loaded, {n - accepted - bad} refused with a typed error, {bad} crashed");
    return bad == 0 ? 0 : 1;
}
if (!Targets.All.TryGetValue(args[0], out var target)) { Console.Error.WriteLine($"unknown target '{args[0]}'"); return 2; }
// AFL's fork-server protocol, run in this one process: SharpFuzz feeds each input from stdin to the target.
Fuzzer.Run(stream =>
{
    using var ms = new MemoryStream();
    stream.CopyTo(ms);
    target(ms.ToArray());
});
return 0;
