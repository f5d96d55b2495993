using EdgeMixedAccum.Converters.Onnx;
using EdgeMixedAccum.Converters.Onnx.Proto;
using EdgeMixedAccum.Graph;
using EdgeMixedAccum.Reference;
using Google.Protobuf;

namespace EdgeMixedAccum.Converters.Tests.Onnx;

/// <summary>Builds ONNX models in tests with the generated protobuf classes.</summary>
internal sealed class OnnxBuilder
{
    public ModelProto Model { get; }
    public GraphProto Graph => Model.Graph;
    private int _auto;

    public OnnxBuilder(int opset = 17, long irVersion = 8, string producer = "test-builder")
    {
        Model = new ModelProto
        {
            IrVersion = irVersion, ProducerName = producer, ProducerVersion = "1.0",
            Graph = new GraphProto { Name = "test_graph" },
        };
        Model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
    }

    /// <summary>A FLOAT input; dims are ints (fixed), strings (dim_param) or null (no value).</summary>
    public string Input(string name, params object?[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            var dim = new TensorShapeProto.Types.Dimension();
            if (d is int i) dim.DimValue = i;
            else if (d is string s) dim.DimParam = s;
            shape.Dim.Add(dim);
        }
        Graph.Input.Add(new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } },
        });
        return name;
    }

    public void Output(string name) => Graph.Output.Add(new ValueInfoProto
    {
        Name = name,
        Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1 } },
    });

    public static TensorProto FloatTensor(string name, int[] shape, float[] data, bool raw = true)
    {
        var t = new TensorProto { Name = name, DataType = 1 };
        t.Dims.AddRange(shape.Select(d => (long)d));
        if (raw)
        {
            var bytes = new byte[data.Length * 4];
            Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
            t.RawData = ByteString.CopyFrom(bytes);
        }
        else t.FloatData.AddRange(data);
        return t;
    }

    public static TensorProto Int64Tensor(string name, int[] shape, long[] data, bool raw = false)
    {
        var t = new TensorProto { Name = name, DataType = 7 };
        t.Dims.AddRange(shape.Select(d => (long)d));
        if (raw)
        {
            var bytes = new byte[data.Length * 8];
            Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
            t.RawData = ByteString.CopyFrom(bytes);
        }
        else t.Int64Data.AddRange(data);
        return t;
    }

    public string Init(string name, int[] shape, float[] data, bool raw = true)
    {
        Graph.Initializer.Add(FloatTensor(name, shape, data, raw));
        return name;
    }

    public string Init(string name, float scalar) => Init(name, [], [scalar]);

    public string InitInt64(string name, params long[] data)
    {
        Graph.Initializer.Add(Int64Tensor(name, [data.Length], data));
        return name;
    }

    /// <summary>Adds a node; attributes: int/long (INT), float/double (FLOAT), string (STRING), int[]/long[] (INTS),
    /// float[] (FLOATS), TensorProto (TENSOR). Returns the first output.</summary>
    public string Node(string op, string[] inputs, string? output = null, string? name = null, params (string Name, object Value)[] attrs)
        => NodeMulti(op, inputs, [output ?? $"{op.ToLowerInvariant()}_{_auto}_out"], name, attrs)[0];

    public string[] NodeMulti(string op, string[] inputs, string[] outputs, string? name = null, params (string Name, object Value)[] attrs)
    {
        var n = new NodeProto { OpType = op, Name = name ?? $"{op}_{_auto++}" };
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        foreach (var (an, v) in attrs) n.Attribute.Add(Attr(an, v));
        Graph.Node.Add(n);
        return outputs;
    }

    public static AttributeProto Attr(string name, object v)
    {
        var a = new AttributeProto { Name = name };
        switch (v)
        {
            case int i: a.Type = AttributeProto.Types.AttributeType.Int; a.I = i; break;
            case long l: a.Type = AttributeProto.Types.AttributeType.Int; a.I = l; break;
            case float f: a.Type = AttributeProto.Types.AttributeType.Float; a.F = f; break;
            case double d: a.Type = AttributeProto.Types.AttributeType.Float; a.F = (float)d; break;
            case string s: a.Type = AttributeProto.Types.AttributeType.String; a.S = ByteString.CopyFromUtf8(s); break;
            case int[] ii: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.AddRange(ii.Select(x => (long)x)); break;
            case long[] ll: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.AddRange(ll); break;
            case float[] ff: a.Type = AttributeProto.Types.AttributeType.Floats; a.Floats.AddRange(ff); break;
            case TensorProto t: a.Type = AttributeProto.Types.AttributeType.Tensor; a.T = t; break;
            default: throw new ArgumentException($"attribute type {v.GetType()}");
        }
        return a;
    }

    /// <summary>A Constant node holding an int64 vector.</summary>
    public string ConstInts(string output, params long[] v) => Node("Constant", [], output, attrs: ("value", Int64Tensor(output, [v.Length], v)));

    /// <summary>A Constant node holding a float scalar.</summary>
    public string ConstFloat(string output, float v) => Node("Constant", [], output, attrs: ("value", FloatTensor(output, [], [v])));

    public byte[] Bytes() => Model.ToByteArray();

    public OnnxImportResult Import() => OnnxImporter.Import(Bytes(), "test.onnx");
}

/// <summary>Shared helpers: deterministic data, running imported graphs, comparing.</summary>
internal static class T
{
    public static float[] Rand(int n, int seed, double scale = 1.0)
    {
        var r = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)((r.NextDouble() * 2 - 1) * scale);
        return v;
    }

    public static float[] RandPositive(int n, int seed, double lo, double hi)
    {
        var r = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(lo + r.NextDouble() * (hi - lo));
        return v;
    }

    /// <summary>Runs a one-input graph in fp64; returns output 0's values and shape.</summary>
    public static (double[] Y, int[] Shape) Run(ModelGraph g, float[] x, int[] shape, int output = 0)
    {
        var outs = ReferenceExecutor.Run(g, [RefTensor<double>.FromFloat(shape, x)]);
        return (outs[output].Data, outs[output].Shape);
    }

    public static double[][] RunAll(ModelGraph g, params (float[] X, int[] Shape)[] inputs)
    {
        var outs = ReferenceExecutor.Run(g, inputs.Select(i => RefTensor<double>.FromFloat(i.Shape, i.X)).ToList());
        return outs.Select(o => o.Data).ToArray();
    }

    public static void Close(double[] expected, double[] actual, double tol = 1e-5)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(expected[i] - actual[i]);
            Assert.True(err <= tol * Math.Max(1, Math.Abs(expected[i])), $"element {i}: expected {expected[i]}, got {actual[i]} (error {err})");
        }
    }

    public static int Count<TNode>(ModelGraph g) where TNode : Node => g.Nodes.Count(n => n is TNode);
}
