using System.Globalization;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Converters.Passes;

/// <summary>
/// Constant folding and shape inference with a symbolic batch. Shape arithmetic on the batch (PyTorch's
/// Shape -> Gather -> Unsqueeze -> Concat -> Reshape) cannot fold with an unknown batch, so the graph is
/// folded twice, with two concrete batch sizes (<see cref="ConstantFoldingPass"/> then
/// <see cref="ShapeInferencePass"/> on a copy each time), and the two results are merged: a dim equal in both
/// is static, a dim 0 that follows the batch becomes <see cref="Shapes.Batch"/>; anything else that changes
/// with the batch is an error (or, for a fixed-batch export, a reason to keep the batch fixed).
/// <para>Batch candidates: inputs whose dim 0 is symbolic (dim_param or missing) are always batch; inputs of
/// rank &gt;= 2 with a fixed dim 0 (a fixed-batch export) are made symbolic when folding with that size and
/// the next one gives consistent shapes, and kept fixed otherwise (with a note saying why).</para>
/// <para>Constants that differ between the two runs may only feed Reshape target shapes (lowering takes the
/// Reshape target from the merged output shape); they are listed in <see cref="ImportGraph.BatchDependent"/>.</para>
/// </summary>
public sealed class SymbolicBatchPass : IImportPass
{
    public string Name => "symbolic-batch";

    public void Run(ImportGraph g)
    {
        var symbolic = g.Inputs.Where(i => i.Shape.Length > 0 && i.Shape[0] == Shapes.Batch).Select(i => i.Name).ToList();
        var fixedCands = g.Inputs.Where(i => i.Shape.Length >= 2 && i.Shape[0] >= 1).ToList();
        foreach (var i in g.Inputs)
            for (int d = 1; d < i.Shape.Length; d++)
                if (i.Shape[d] < 0) throw new EmaException($"input '{i.Name}': dim {d} of {Shapes.Format(i.Shape)} is not static; only dim 0 (the batch) may be symbolic");

        if (fixedCands.Count > 0)
        {
            var sizes = fixedCands.Select(i => i.Shape[0]).Distinct().ToList();
            string names = string.Join(", ", fixedCands.Select(i => $"'{i.Name}'"));
            if (sizes.Count == 1)
            {
                int f = sizes[0];
                var batchInputs = symbolic.Concat(fixedCands.Select(i => i.Name)).ToList();
                string? reason = null;
                try
                {
                    var merged = FoldTwice(g, batchInputs, f, f + 1);
                    merged.Batch = BatchMode.MadeSymbolic;
                    merged.Notes.Add($"input {names}: the fixed batch dim {f} was made symbolic (the graph folds consistently with batch {f} and {f + 1})");
                    g.CopyFrom(merged);
                    return;
                }
                catch (EmaException e) { reason = e.Message; }
                // Fixed-batch exports (tf2onnx/Keras, TF Lite converters) often bake the batch into Reshape targets:
                // [1, 1280]. Read a leading f in a constant target as "copy dim 0" where the Reshape's input has the
                // batch in dim 0, and try again; the two-batch fold still has to agree, else the batch stays fixed.
                if (RelaxBakedReshapes(g, batchInputs, f) is { } relaxed)
                {
                    try
                    {
                        var merged = FoldTwice(relaxed.Graph, batchInputs, f, f + 1);
                        merged.Batch = BatchMode.MadeSymbolic;
                        merged.Notes.Add($"input {names}: the fixed batch dim {f} was made symbolic, reading the leading {f} of the Reshape target(s) of {string.Join(", ", relaxed.Nodes.Select(n => $"'{n}'"))} as the batch (the graph then folds consistently with batch {f} and {f + 1})");
                        g.CopyFrom(merged);
                        return;
                    }
                    catch (EmaException) { } // keep the first reason: it names the baked-in shape
                }
                g.Notes.Add($"input {names}: the fixed batch dim {f} is kept (the graph does not fold with batch {f + 1}: {reason})");
            }
            else
                g.Notes.Add($"inputs {names}: fixed dim 0 sizes differ ({string.Join(", ", sizes)}), kept fixed");
        }

        BatchMode mode = symbolic.Count > 0 ? BatchMode.Symbolic : fixedCands.Count > 0 ? BatchMode.KeptFixed : BatchMode.None;
        ImportGraph result = symbolic.Count > 0 ? FoldTwice(g, symbolic, 2, 3) : FoldOnce(g);
        result.Batch = mode;
        if (mode == BatchMode.Symbolic && fixedCands.Count > 0) result.Notes.Add("some inputs keep a fixed dim 0 beside the symbolic batch");
        g.CopyFrom(result);
    }

    /// <summary>A copy of <paramref name="g"/> whose Reshapes with an initializer target starting with the fixed batch
    /// <paramref name="f"/> (and reading a value whose dim 0 is that batch, at batch f) copy dim 0 instead (target 0),
    /// or null when there is none.</summary>
    private static (ImportGraph Graph, List<string> Nodes)? RelaxBakedReshapes(ImportGraph g, List<string> batchInputs, int f)
    {
        ImportGraph atF;
        try { atF = FoldAt(g, batchInputs, f); }
        catch (EmaException) { return null; }
        var c = g.Clone();
        var changed = new List<string>();
        foreach (var n in c.Nodes)
        {
            if (n.OpType != "Reshape" || n.Int("allowzero", 0) != 0) continue; // with allowzero, 0 is a literal 0
            if (!g.Constants.TryGetValue(n.Input(1), out var target) || target.Kind != ConstKind.Int) continue;
            if (target.Rank != 1 || target.Count < 1 || target.Ints[0] != f) continue;
            if (atF.TryShape(n.Input(0)) is not { Length: > 0 } xs || xs[0] != f) continue;
            var t = target.Ints.ToArray();
            t[0] = 0;
            n.Inputs[1] = c.AddConstant(c.FreshName(n.Input(1) + "_batch"), ConstTensor.Int([t.Length], t, target.DataType));
            changed.Add(n.Name);
        }
        return changed.Count == 0 ? null : (c, changed);
    }

    private static ImportGraph FoldOnce(ImportGraph g)
    {
        var c = g.Clone();
        new ConstantFoldingPass().Run(c);
        new ShapeInferencePass().Run(c);
        return c;
    }

    private static ImportGraph FoldAt(ImportGraph g, List<string> batchInputs, int b)
    {
        var c = g.Clone();
        for (int k = 0; k < c.Inputs.Count; k++)
        {
            var i = c.Inputs[k];
            if (!batchInputs.Contains(i.Name)) continue;
            var s = (int[])i.Shape.Clone();
            s[0] = b;
            c.Inputs[k] = i with { Shape = s };
            c.Shapes[i.Name] = s;
        }
        new ConstantFoldingPass().Run(c);
        new ShapeInferencePass().Run(c);
        return c;
    }

    /// <summary>Folds at batch <paramref name="b1"/> and <paramref name="b2"/> and merges the results.</summary>
    private static ImportGraph FoldTwice(ImportGraph g, List<string> batchInputs, int b1, int b2)
    {
        var a = FoldAt(g, batchInputs, b1);
        var b = FoldAt(g, batchInputs, b2);
        string at(int bs) => "batch " + bs.ToString(CultureInfo.InvariantCulture);
        if (a.Nodes.Count != b.Nodes.Count || a.Nodes.Zip(b.Nodes).Any(p => !p.First.Outputs.SequenceEqual(p.Second.Outputs)))
            throw new EmaException($"the graph folds to different structures with {at(b1)} and {at(b2)}");

        // Runtime shapes: equal dims are static; a dim 0 that equals the batch in both runs is the batch.
        foreach (var (name, s1) in a.Shapes)
        {
            if (!b.Shapes.TryGetValue(name, out var s2))
                throw new EmaException($"value '{name}' is a runtime value with {at(b1)} but a constant with {at(b2)}");
            try { a.Shapes[name] = Merge(name, s1, s2, b1, b2); }
            catch (EmaException e) when (a.Producer(name) is { } p)
            {
                throw new EmaException($"{p.Where}: {e.Message}", e); // name the node that moved the batch
            }
        }
        for (int k = 0; k < a.Inputs.Count; k++)
            a.Inputs[k] = a.Inputs[k] with { Shape = a.Shapes[a.Inputs[k].Name] };

        // Constants: equal in both runs, or batch-dependent and read only as a Reshape target.
        foreach (var (name, c1) in a.Constants)
        {
            if (!b.Constants.TryGetValue(name, out var c2))
                throw new EmaException($"value '{name}' is a constant with {at(b1)} but not with {at(b2)}");
            if (c1.SameAs(c2)) continue;
            if (a.IsOutput(name)) throw new EmaException($"graph output '{name}' is a constant that depends on the batch size");
            foreach (var (node, index) in a.Consumers(name))
                if (!(node.OpType == "Reshape" && index == 1))
                    throw node.Fail($"input '{name}' depends on the batch size ({c1} with {at(b1)}, {c2} with {at(b2)}); only a Reshape target shape may depend on the batch");
            a.BatchDependent.Add(name);
        }
        return a;
    }

    private static int[] Merge(string name, int[] s1, int[] s2, int b1, int b2)
    {
        if (s1.Length != s2.Length)
            throw new EmaException($"value '{name}' has shape {Shapes.Format(s1)} with batch {b1} but {Shapes.Format(s2)} with batch {b2}: its rank depends on the batch");
        var r = (int[])s1.Clone();
        for (int d = 0; d < r.Length; d++)
        {
            if (s1[d] == s2[d]) continue;
            if (d == 0 && s1[0] == b1 && s2[0] == b2) { r[0] = Shapes.Batch; continue; }
            throw new EmaException($"value '{name}' has shape {Shapes.Format(s1)} with batch {b1} but {Shapes.Format(s2)} with batch {b2}: the batch does not stay alone in dim 0");
        }
        return r;
    }
}
