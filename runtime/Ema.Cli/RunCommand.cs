using System.CommandLine;
using System.Globalization;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Npy;
using EdgeMixedAccum.Reference;

namespace EdgeMixedAccum.Cli;

/// <summary>
/// `ema run MODEL.ema --input X.npy`: runs a model on a batch of inputs and reports predictions (and
/// accuracy against --labels). Until the kernel runtime lands it runs the reference executor.
/// </summary>
internal static class RunCommand
{
    private const int Chunk = 256;

    public static Command Create(TextWriter stdout)
    {
        var model = new Argument<FileInfo>("model") { Description = "the .ema model file" };
        var input = new Option<FileInfo>("--input", "-i") { Description = "inputs as .npy: [B, ...] or one sample", Required = true };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "write the first output as .npy (float32)" };
        var labels = new Option<FileInfo?>("--labels") { Description = "integer class labels as .npy [B] to report top-1 accuracy" };
        var precision = new Option<string>("--mode") { Description = "f32: the fp32 reference path; f64: the fp64 reference (the error baseline)", DefaultValueFactory = _ => "f32" };
        precision.AcceptOnlyFromAmong("f32", "f64");
        var show = new Option<int>("--show") { Description = "print this many per-sample predictions", DefaultValueFactory = _ => 10 };
        var cmd = new Command("run", "Run a model on inputs from a .npy file and print predictions");
        cmd.Arguments.Add(model);
        cmd.Options.Add(input); cmd.Options.Add(output); cmd.Options.Add(labels); cmd.Options.Add(precision); cmd.Options.Add(show);
        cmd.SetAction(p => Execute(CliApp.LoadModel(p.GetValue(model)!), p.GetValue(input)!, p.GetValue(output), p.GetValue(labels),
            p.GetValue(precision) == "f64", p.GetValue(show), stdout));
        return cmd;
    }

    public static int Execute(EmaModel m, FileInfo inputFile, FileInfo? outputFile, FileInfo? labelFile, bool fp64, int show, TextWriter o)
    {
        if (m.Graph.Inputs.Count != 1) throw new EmaException($"`ema run` feeds one input; the model has {m.Graph.Inputs.Count}");
        var declared = m.Graph.Values[m.Graph.Inputs[0]];
        var x = NpyFile.Read(inputFile.FullName);
        var (batch, sampleShape) = ReferenceExecutor.FitInputShape(declared, x.Shape, inputFile.Name);
        var data = x.ToFloat32();
        long[]? y = null;
        if (labelFile is not null)
        {
            var l = NpyFile.Read(labelFile.FullName);
            y = l.ToInt64();
            if (y.Length != batch) throw new EmaException($"{labelFile.Name} holds {y.Length} labels for {batch} inputs");
        }

        int per = batch == 0 ? 0 : data.Length / batch;
        var outputs = new List<float>();
        int[]? outSample = null;
        for (int start = 0; start < batch; start += Chunk)
        {
            int n = Math.Min(Chunk, batch - start);
            var shape = (int[])sampleShape.Clone();
            shape[0] = n;
            var chunk = data.AsSpan(start * per, n * per).ToArray();
            float[] result; int[] rshape;
            if (fp64) { var r = ReferenceExecutor.Run<double>(m, (chunk, shape))[0]; result = r.ToFloat(); rshape = r.Shape; }
            else { var r = ReferenceExecutor.Run<float>(m, (chunk, shape))[0]; result = r.Data; rshape = r.Shape; }
            outSample ??= rshape;
            outputs.AddRange(result);
        }
        var outShape = (int[])(outSample ?? Shapes.Resolve(m.Graph.Values[m.Graph.Outputs[0]].Shape, 0)).Clone();
        outShape[0] = batch;
        var all = outputs.ToArray();
        int classes = outShape[^1];
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine($"model {m.Metadata.ModelName}: {batch} input(s) {Shapes.Format(sampleShape[1..])} -> {Shapes.Format(outShape[1..])} ({(fp64 ? "fp64" : "fp32")} reference executor)");
        int correct = 0;
        int rows = classes == 0 ? 0 : all.Length / classes;
        for (int i = 0; i < rows; i++)
        {
            int best = 0;
            for (int c = 1; c < classes; c++) if (all[i * classes + c] > all[i * classes + best]) best = c;
            if (y is not null && i < y.Length && y[i] == best) correct++;
            if (i < show)
            {
                string name = best < m.Metadata.Labels.Count ? m.Metadata.Labels[best] : best.ToString(inv);
                string truth = y is null ? "" : $"  label {(y[i] < m.Metadata.Labels.Count && y[i] >= 0 ? m.Metadata.Labels[(int)y[i]] : y[i].ToString(inv))}";
                o.WriteLine($"  [{i}] top-1 {name} ({all[i * classes + best].ToString("G4", inv)}){truth}");
            }
        }
        if (y is not null && batch > 0)
            o.WriteLine($"top-1 accuracy {(double)correct / batch:P2} ({correct}/{batch})");
        if (outputFile is not null)
        {
            NpyFile.Write(outputFile.FullName, NpyArray.FromFloat32(all, outShape));
            o.WriteLine($"wrote {outputFile.FullName} {Shapes.Format(outShape)}");
        }
        return 0;
    }
}
