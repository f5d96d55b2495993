namespace EdgeMixedAccum.Converters.Passes;

/// <summary>
/// Removes Identity and Dropout (inference: Dropout passes its input through; its mask output must be
/// unused). Readers of the removed output read the input instead; when the output is a graph output and
/// the input is an ordinary node output, the producer takes over the graph output's name so output names
/// stay as the model declared them.
/// </summary>
public sealed class IdentityRemovalPass : IImportPass
{
    public string Name => "identity-removal";

    public void Run(ImportGraph g)
    {
        foreach (var n in g.Nodes.ToList())
        {
            if (n.OpType is not ("Identity" or "Dropout")) continue;
            if (!n.HasInput(0)) throw n.Fail("input 0 is required");
            for (int k = 1; k < n.Outputs.Count; k++)
                if (n.Outputs[k].Length > 0 && g.UseCount(n.Outputs[k]) > 0)
                    throw n.Fail($"output '{n.Outputs[k]}' (the dropout mask) is used; only inference graphs are supported");
            if (n.OpType == "Dropout" && n.HasInput(2))
            {
                var training = g.TryConstant(n.Input(2));
                if (training is null || training.Scalar($"{n.Where}: training_mode") != 0)
                    throw n.Fail("training_mode must be a constant false (inference)");
            }
            string input = n.Input(0), output = n.Output0;
            g.Nodes.Remove(n);
            var producer = g.Producer(input);
            if (g.IsOutput(output) && producer is not null && !g.IsOutput(input))
            {
                // The producer now writes the graph output directly.
                producer.Outputs[producer.Outputs.IndexOf(input)] = output;
                g.ReplaceUses(input, output);
                if (g.Shapes.Remove(input, out var s)) g.Shapes[output] = s;
            }
            else
            {
                g.ReplaceUses(output, input);
                g.Shapes.Remove(output);
            }
        }
    }
}

/// <summary>
/// Removes nodes none of whose outputs reach a graph output, then constants nothing reads. Shapes of
/// removed values are dropped too.
/// </summary>
public sealed class DeadNodeRemovalPass : IImportPass
{
    public string Name => "dead-node-removal";

    public void Run(ImportGraph g)
    {
        var live = new HashSet<string>(g.Outputs, StringComparer.Ordinal);
        var keep = new bool[g.Nodes.Count];
        for (int k = g.Nodes.Count - 1; k >= 0; k--)
        {
            var n = g.Nodes[k];
            if (!n.Outputs.Any(live.Contains)) continue;
            keep[k] = true;
            foreach (var i in n.Inputs)
                if (i.Length > 0) live.Add(i);
        }
        int removed = keep.Count(x => !x);
        var kept = g.Nodes.Where((_, k) => keep[k]).ToList();
        var dropped = g.Nodes.Where((_, k) => !keep[k]).ToList();
        g.Nodes.Clear();
        g.Nodes.AddRange(kept);
        foreach (var n in dropped)
            foreach (var o in n.Outputs) g.Shapes.Remove(o);
        foreach (var c in g.Constants.Keys.ToList())
            if (!live.Contains(c)) { g.Constants.Remove(c); g.BatchDependent.Remove(c); }
        if (removed > 0) g.Notes.Add($"removed {removed} node(s) that do not reach a graph output");
    }
}
