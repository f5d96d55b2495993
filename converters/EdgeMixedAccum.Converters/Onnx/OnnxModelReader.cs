using System.Buffers.Binary;
using EdgeMixedAccum.Converters.Onnx.Proto;
using EdgeMixedAccum.Converters.Passes;
using EdgeMixedAccum.Graph;
using Google.Protobuf;

namespace EdgeMixedAccum.Converters.Onnx;

/// <summary>Reads an ONNX ModelProto into the import IR, checking what the passes rely on.</summary>
internal static class OnnxModelReader
{
    public const int MinOpset = 7, MaxOpset = 22;

    public static ModelProto Parse(ReadOnlySpan<byte> bytes, string nameForErrors)
    {
        try
        {
            return ModelProto.Parser.WithDiscardUnknownFields(true).ParseFrom(bytes);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidOperationException or ArgumentException or IndexOutOfRangeException or OverflowException)
        {
            throw new EmaException($"'{nameForErrors}' is not a valid ONNX model: {e.Message}", e);
        }
    }

    public static (ImportGraph Graph, OnnxModelInfo Model) Read(ModelProto m, string nameForErrors)
    {
        EmaException Invalid(string what) => new($"'{nameForErrors}' is not a valid ONNX model: {what}");
        if (m.Graph is null) throw Invalid("it has no graph");
        if (m.IrVersion <= 0) throw Invalid($"ir_version {m.IrVersion} is missing or invalid");
        long opset = -1;
        foreach (var o in m.OpsetImport)
            if (o.Domain is "" or "ai.onnx") opset = Math.Max(opset, o.Version);
        if (opset < 0) throw Invalid("it imports no opset of the default ONNX domain");
        if (opset < MinOpset || opset > MaxOpset)
            throw new EmaException($"'{nameForErrors}': opset {opset} is not supported (supported: {MinOpset} to {MaxOpset}); re-export with opset 13 to 17");
        var gp = m.Graph;
        var info = new OnnxModelInfo(m.IrVersion, (int)opset, m.ProducerName, m.ProducerVersion, gp.Name, m.Domain, m.ModelVersion,
            MetadataProps(m));
        if (gp.SparseInitializer.Count > 0) throw new EmaException("sparse initializers are not supported");
        if (gp.Node.Count > Limits.MaxGraphNodes) throw Invalid($"the graph has {gp.Node.Count} nodes, more than the limit {Limits.MaxGraphNodes} (Limits.MaxGraphNodes)");
        if (gp.Initializer.Count > Limits.MaxTensors) throw Invalid($"the graph has {gp.Initializer.Count} initializers, more than the limit {Limits.MaxTensors} (Limits.MaxTensors)");
        var g = new ImportGraph { Name = gp.Name, Opset = (int)opset };

        foreach (var t in gp.Initializer)
        {
            if (t.Name.Length == 0) throw Invalid("an initializer has no name");
            if (g.Constants.ContainsKey(t.Name)) throw Invalid($"initializer '{t.Name}' is defined twice");
            g.Constants[t.Name] = OnnxTensors.ToConst(t, $"initializer '{t.Name}'");
        }
        foreach (var vi in gp.Input)
        {
            if (g.Constants.ContainsKey(vi.Name)) continue; // an initializer listed as input (IR < 4 exports): a constant
            if (g.Shapes.ContainsKey(vi.Name)) throw Invalid($"graph input '{vi.Name}' is listed twice");
            g.AddInput(vi.Name, InputShape(vi));
        }
        if (g.Inputs.Count == 0) throw new EmaException("the graph has no runtime inputs (every input is an initializer)");

        var produced = new HashSet<string>(StringComparer.Ordinal);
        var nodes = new List<ImportNode>();
        var nodeNames = new HashSet<string>(StringComparer.Ordinal);
        for (int k = 0; k < gp.Node.Count; k++)
        {
            var np = gp.Node[k];
            string name = np.Name.Length > 0 ? np.Name : $"{(np.OpType.Length > 0 ? np.OpType : "node")}_{k}";
            if (!nodeNames.Add(name)) name = $"{name}_{k}";
            CheckOp(np, name);
            var n = new ImportNode(np.OpType, name, np.Input, np.Output, np.Attribute.Select(a => ToAttribute(a, np, name)));
            if (n.Outputs.Count == 0 || n.Outputs[0].Length == 0) throw Invalid($"{n.Where} has no output");
            foreach (var o in n.Outputs)
                if (o.Length > 0 && (!produced.Add(o) || g.Shapes.ContainsKey(o) || g.Constants.ContainsKey(o)))
                    throw Invalid($"value '{o}' is produced twice ({n.Where})");
            nodes.Add(n);
        }
        g.Nodes.AddRange(TopologicalOrder(nodes, g, Invalid));
        foreach (var o in gp.Output)
        {
            if (!produced.Contains(o.Name) && !g.Shapes.ContainsKey(o.Name) && !g.Constants.ContainsKey(o.Name))
                throw Invalid($"graph output '{o.Name}' is never produced");
            g.Outputs.Add(o.Name);
        }
        if (g.Outputs.Count == 0) throw Invalid("the graph has no outputs");
        return (g, info);
    }

    private static Dictionary<string, string> MetadataProps(ModelProto m)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in m.MetadataProps) d[p.Key] = p.Value; // duplicate keys: the last wins
        return d;
    }

    private static void CheckOp(NodeProto np, string name)
    {
        bool defaultDomain = np.Domain is "" or "ai.onnx";
        if (defaultDomain && OnnxImporter.SupportedOps.Contains(np.OpType)) return;
        string op = defaultDomain ? np.OpType : $"{np.Domain}.{np.OpType}";
        throw new EmaException($"unsupported op {op} (node '{name}'); supported ops (default ONNX domain): {string.Join(", ", OnnxImporter.SupportedOps)}");
    }

    private static int[] InputShape(ValueInfoProto vi)
    {
        string where = $"graph input '{vi.Name}'";
        if (vi.Type?.TensorType is not { } tt) throw new EmaException($"{where} is not a tensor");
        if (tt.ElemType != OnnxDataType.Float)
            throw new EmaException($"{where} has element type {OnnxDataType.Name(tt.ElemType)}; only FLOAT inputs are supported");
        if (tt.Shape is null) throw new EmaException($"{where} has no shape");
        var dims = tt.Shape.Dim;
        if (dims.Count > Limits.MaxRank) throw new EmaException($"{where} has rank {dims.Count}, more than {Limits.MaxRank}");
        var s = new int[dims.Count];
        for (int i = 0; i < s.Length; i++)
        {
            var d = dims[i];
            bool known = d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue;
            if (i == 0 && (!known || d.DimValue <= 0)) { s[0] = Shapes.Batch; continue; }
            if (!known)
                throw new EmaException($"{where}: dim {i} is symbolic{(d.DimParam.Length > 0 ? $" ('{d.DimParam}')" : "")}; only dim 0 (the batch) may be symbolic");
            if (d.DimValue < 0 || d.DimValue > int.MaxValue) throw new EmaException($"{where}: dim {i} = {d.DimValue} is invalid");
            s[i] = (int)d.DimValue;
        }
        Shapes.Validate(s, where, allowBatch: true);
        Limits.CheckElements(s, where);
        return s;
    }

    private static ImportAttribute ToAttribute(AttributeProto a, NodeProto np, string nodeName)
    {
        string where = $"{np.OpType} node '{nodeName}': attribute '{a.Name}'";
        var type = a.Type;
        if (type == AttributeProto.Types.AttributeType.Undefined)
        {
            // IR version 1 had no type field: infer it from the field present.
            type = a.T is not null ? AttributeProto.Types.AttributeType.Tensor
                : a.Floats.Count > 0 ? AttributeProto.Types.AttributeType.Floats
                : a.Ints.Count > 0 ? AttributeProto.Types.AttributeType.Ints
                : a.Strings.Count > 0 ? AttributeProto.Types.AttributeType.Strings
                : !a.S.IsEmpty ? AttributeProto.Types.AttributeType.String
                : a.I != 0 ? AttributeProto.Types.AttributeType.Int
                : AttributeProto.Types.AttributeType.Float;
        }
        return type switch
        {
            AttributeProto.Types.AttributeType.Float => new ImportAttribute(a.Name, AttrKind.Float, F: a.F),
            AttributeProto.Types.AttributeType.Int => new ImportAttribute(a.Name, AttrKind.Int, I: a.I),
            AttributeProto.Types.AttributeType.String => new ImportAttribute(a.Name, AttrKind.String, S: a.S.ToStringUtf8()),
            AttributeProto.Types.AttributeType.Tensor => new ImportAttribute(a.Name, AttrKind.Tensor,
                T: OnnxTensors.ToConst(a.T ?? throw new EmaException($"{where} has no tensor"), where)),
            AttributeProto.Types.AttributeType.Floats => new ImportAttribute(a.Name, AttrKind.Floats, Floats: a.Floats.ToArray()),
            AttributeProto.Types.AttributeType.Ints => new ImportAttribute(a.Name, AttrKind.Ints, Ints: a.Ints.ToArray()),
            AttributeProto.Types.AttributeType.Strings => new ImportAttribute(a.Name, AttrKind.Strings, Strings: a.Strings.Select(s => s.ToStringUtf8()).ToArray()),
            _ => new ImportAttribute(a.Name, AttrKind.Other),
        };
    }

    /// <summary>The nodes in an order where every input is defined first (ONNX requires sorted graphs; a
    /// stable Kahn sort also accepts unsorted ones). Fails on a read of an undefined value or a cycle.</summary>
    private static List<ImportNode> TopologicalOrder(List<ImportNode> nodes, ImportGraph g, Func<string, EmaException> invalid)
    {
        var defined = new HashSet<string>(g.Shapes.Keys, StringComparer.Ordinal);
        defined.UnionWith(g.Constants.Keys);
        var order = new List<ImportNode>(nodes.Count);
        var pending = nodes;
        while (pending.Count > 0)
        {
            var rest = new List<ImportNode>();
            foreach (var n in pending)
            {
                if (n.Inputs.All(i => i.Length == 0 || defined.Contains(i)))
                {
                    order.Add(n);
                    foreach (var o in n.Outputs) if (o.Length > 0) defined.Add(o);
                }
                else rest.Add(n);
            }
            if (rest.Count == pending.Count)
            {
                var n = rest[0];
                string missing = n.Inputs.First(i => i.Length > 0 && !defined.Contains(i));
                bool producedSomewhere = rest.Any(r => r.Outputs.Contains(missing));
                throw invalid($"{n.Where} reads '{missing}', which {(producedSomewhere ? "is produced in a cycle" : "is never produced")}");
            }
            pending = rest;
        }
        return order;
    }
}

/// <summary>TensorProto to <see cref="ConstTensor"/>: inline data only (raw_data or the typed fields).</summary>
internal static class OnnxTensors
{
    private static bool IsSupported(int type) => type is OnnxDataType.Float or OnnxDataType.Double or OnnxDataType.Float16
        or OnnxDataType.BFloat16 or OnnxDataType.Int64 or OnnxDataType.UInt32 or OnnxDataType.UInt64 or OnnxDataType.Int32
        or OnnxDataType.Int16 or OnnxDataType.Int8 or OnnxDataType.UInt16 or OnnxDataType.UInt8 or OnnxDataType.Bool;

    public static ConstTensor ToConst(TensorProto t, string where)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External || t.ExternalData.Count > 0)
        {
            string loc = t.ExternalData.FirstOrDefault(e => e.Key == "location")?.Value ?? "?";
            throw new EmaException($"{where} (tensor '{t.Name}') keeps its data in an external file ('{loc}'); external data is not supported: save the model with its weights inside the .onnx file");
        }
        if (t.Dims.Count > Limits.MaxRank) throw new EmaException($"{where}: rank {t.Dims.Count} exceeds {Limits.MaxRank}");
        var shape = new int[t.Dims.Count];
        for (int i = 0; i < shape.Length; i++)
        {
            if (t.Dims[i] < 0 || t.Dims[i] > int.MaxValue) throw new EmaException($"{where}: dim {t.Dims[i]} is invalid");
            shape[i] = (int)t.Dims[i];
        }
        // The declared shape is checked against the limit, and against the data actually present (below), before
        // anything of its size is allocated: a few bytes of protobuf must not buy gigabytes.
        int n = checked((int)Limits.CheckElements(shape, where));
        var raw = t.RawData.Span;
        bool hasRaw = !t.RawData.IsEmpty;
        int type = t.DataType;
        EmaException Count(int got, string field) => new($"{where}: {field} holds {got} elements, shape {Shapes.Format(shape)} needs {n}");
        int rawLength = raw.Length;
        void CheckRaw(int size)
        {
            if ((long)rawLength != checked((long)n * size)) throw new EmaException($"{where}: raw_data has {rawLength} bytes, shape {Shapes.Format(shape)} of {OnnxDataType.Name(type)} needs {(long)n * size}");
        }
        if (!hasRaw)
        {
            int got = type switch
            {
                OnnxDataType.Float => t.FloatData.Count,
                OnnxDataType.Double => t.DoubleData.Count,
                OnnxDataType.Int64 => t.Int64Data.Count,
                OnnxDataType.UInt32 or OnnxDataType.UInt64 => t.Uint64Data.Count,
                _ => t.Int32Data.Count,
            };
            string field = type switch
            {
                OnnxDataType.Float => "float_data", OnnxDataType.Double => "double_data", OnnxDataType.Int64 => "int64_data",
                OnnxDataType.UInt32 or OnnxDataType.UInt64 => "uint64_data", _ => "int32_data",
            };
            if (got != n && IsSupported(type)) throw Count(got, field); // unsupported types fail below, by name
        }
        switch (type)
        {
            case OnnxDataType.Float:
                {
                    var f = new float[n];
                    if (hasRaw) { CheckRaw(4); for (int k = 0; k < n; k++) f[k] = BinaryPrimitives.ReadSingleLittleEndian(raw[(4 * k)..]); }
                    else if (t.FloatData.Count == n) t.FloatData.CopyTo(f, 0);
                    else throw Count(t.FloatData.Count, "float_data");
                    return ConstTensor.Float(shape, f, type);
                }
            case OnnxDataType.Double:
                {
                    var f = new float[n];
                    if (hasRaw) { CheckRaw(8); for (int k = 0; k < n; k++) f[k] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw[(8 * k)..]); }
                    else if (t.DoubleData.Count == n) for (int k = 0; k < n; k++) f[k] = (float)t.DoubleData[k];
                    else throw Count(t.DoubleData.Count, "double_data");
                    return ConstTensor.Float(shape, f, type);
                }
            case OnnxDataType.Float16 or OnnxDataType.BFloat16:
                {
                    var f = new float[n];
                    static float Decode(int type, ushort bits) => type == OnnxDataType.Float16
                        ? (float)BitConverter.UInt16BitsToHalf(bits) : BitConverter.UInt32BitsToSingle((uint)bits << 16);
                    if (hasRaw) { CheckRaw(2); for (int k = 0; k < n; k++) f[k] = Decode(type, BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * k)..])); }
                    else if (t.Int32Data.Count == n) for (int k = 0; k < n; k++) f[k] = Decode(type, (ushort)t.Int32Data[k]);
                    else throw Count(t.Int32Data.Count, "int32_data");
                    return ConstTensor.Float(shape, f, type);
                }
            case OnnxDataType.Int64:
                {
                    var v = new long[n];
                    if (hasRaw) { CheckRaw(8); for (int k = 0; k < n; k++) v[k] = BinaryPrimitives.ReadInt64LittleEndian(raw[(8 * k)..]); }
                    else if (t.Int64Data.Count == n) t.Int64Data.CopyTo(v, 0);
                    else throw Count(t.Int64Data.Count, "int64_data");
                    return ConstTensor.Int(shape, v, type);
                }
            case OnnxDataType.UInt32 or OnnxDataType.UInt64:
                {
                    var v = new long[n];
                    if (hasRaw)
                    {
                        CheckRaw(type == OnnxDataType.UInt32 ? 4 : 8);
                        for (int k = 0; k < n; k++)
                            v[k] = type == OnnxDataType.UInt32 ? BinaryPrimitives.ReadUInt32LittleEndian(raw[(4 * k)..]) : (long)BinaryPrimitives.ReadUInt64LittleEndian(raw[(8 * k)..]);
                    }
                    else if (t.Uint64Data.Count == n) for (int k = 0; k < n; k++) v[k] = (long)t.Uint64Data[k];
                    else throw Count(t.Uint64Data.Count, "uint64_data");
                    return ConstTensor.Int(shape, v, type);
                }
            case OnnxDataType.Int32 or OnnxDataType.Int16 or OnnxDataType.Int8 or OnnxDataType.UInt16 or OnnxDataType.UInt8 or OnnxDataType.Bool:
                {
                    int size = type switch { OnnxDataType.Int32 => 4, OnnxDataType.Int16 or OnnxDataType.UInt16 => 2, _ => 1 };
                    var v = new long[n];
                    if (hasRaw)
                    {
                        CheckRaw(size);
                        for (int k = 0; k < n; k++)
                            v[k] = type switch
                            {
                                OnnxDataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(raw[(4 * k)..]),
                                OnnxDataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(raw[(2 * k)..]),
                                OnnxDataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * k)..]),
                                OnnxDataType.Int8 => (sbyte)raw[k],
                                OnnxDataType.Bool => raw[k] != 0 ? 1 : 0,
                                _ => raw[k],
                            };
                    }
                    else if (t.Int32Data.Count == n) for (int k = 0; k < n; k++) v[k] = t.Int32Data[k];
                    else throw Count(t.Int32Data.Count, "int32_data");
                    return ConstTensor.Int(shape, v, type);
                }
            default:
                throw new EmaException($"{where}: element type {OnnxDataType.Name(type)} is not supported");
        }
    }
}
