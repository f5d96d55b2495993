namespace EdgeMixedAccum.Converters.Passes;

/// <summary>One rewrite of the import IR. Passes run in the order of <see cref="Onnx.OnnxImporter.Passes"/>;
/// each can also run alone (tests do). A pass throws <see cref="EmaException"/> naming the node it cannot handle.</summary>
public interface IImportPass
{
    /// <summary>A short kebab-case name for logs and notes.</summary>
    string Name { get; }
    void Run(ImportGraph g);
}
