using System.CommandLine;
using System.Globalization;
using EdgeMixedAccum.Format;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Cli;

/// <summary>`ema info MODEL.ema`: what a model file holds, after full validation.</summary>
internal static class InfoCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Argument<FileInfo>("model") { Description = "the .ema model file" };
        var cmd = new Command("info", "Validate a .ema file and describe its inputs, outputs, layers and precision plans");
        cmd.Arguments.Add(model);
        cmd.SetAction(p =>
        {
            var m = CliApp.LoadModel(p.GetValue(model)!);
            Describe(m, stdout);
            return 0;
        });
        return cmd;
    }

    public static void Describe(EmaModel m, TextWriter o)
    {
        var inv = CultureInfo.InvariantCulture;
        var md = m.Metadata;
        o.WriteLine($"format     .ema {m.FormatVersion} ({m.FileBytes} bytes)");
        o.WriteLine($"model      {md.ModelName}");
        o.WriteLine($"converter  {md.ConverterVersion}");
        o.WriteLine($"source     sha256:{Convert.ToHexStringLower(md.SourceSha256)}");
        foreach (var v in m.InputInfos) o.WriteLine($"input      {v.Name} {Shapes.Format(v.Shape)}");
        foreach (var v in m.OutputInfos) o.WriteLine($"output     {v.Name} {Shapes.Format(v.Shape)}");
        if (md.Normalization is { } n)
            o.WriteLine($"normalise  mean [{string.Join(", ", n.Mean.Select(x => x.ToString(inv)))}] std [{string.Join(", ", n.Std.Select(x => x.ToString(inv)))}]");
        if (md.Labels.Count > 0) o.WriteLine($"labels     {string.Join(", ", md.Labels)}");
        if (md.Target is { } t)
        {
            var missing = Runtime.Boards.BoardPolicy.Missing(t, Runtime.Boards.CpuInfo.Features);
            o.WriteLine($"board      {t.Board} (needs {(t.Features.Count == 0 ? "no special features" : string.Join(", ", t.Features))}; " +
                $"{(missing.Count == 0 ? "this CPU has them" : "this CPU lacks " + string.Join(", ", missing))})");
        }
        var g = m.Graph;
        long bytes = g.Tensors.Sum(t => t.Data.Length);
        o.WriteLine($"tensors    {g.Tensors.Count} ({bytes} bytes of weights)");
        o.WriteLine($"nodes      {g.Nodes.Count}");
        foreach (var node in g.Nodes)
        {
            string line = $"  {node.Op,-18} {node.Name,-24} -> {Shapes.Format(g.Values[node.Output].Shape)}";
            if (node is LayerNode l)
            {
                var w = g.Constant(l.Weight);
                var p = l.Plan;
                line += $"  W {w.DType} {Shapes.Format(w.Shape)}  act {l.Activation}  plan {p.Precision} tau {p.Tau.ToString(inv)} est {p.Estimator}";
                if (p.InputScale > 0) line += $" x-scale {p.InputScale.ToString("G4", inv)}";
            }
            else if (node is ActivationNode a) line += $"  {a.Activation}";
            o.WriteLine(line);
        }
    }
}
