using System.Numerics;
using EdgeMixedAccum.Graph;

namespace EdgeMixedAccum.Runtime.Engine.Ops;

/// <summary>
/// Element-wise a + b with numpy broadcasting, matching <c>ReferenceOps.Add</c> bit for bit (one fp32 add per
/// element). The output's dim 0 (the batch, when symbolic) is an outer loop; the rest, which is static, is
/// classified once: same shape, one operand a scalar, one operand varying along a single dim (a per-channel
/// or per-last-dim constant), or a general strided walk over precomputed strides with a preallocated counter.
/// Float addition commutes exactly, so the operands are swapped when that puts the full one first.
/// The output may be exactly an operand that already has the output's shape.
/// </summary>
public sealed class AddOp : FloatOp
{
    private enum Kind { Same, Scalar, Vector, General }

    private readonly Kind _kind;
    private readonly bool _swap, _batched;
    private readonly int _lead;                 // output dim 0 when static
    private readonly int _fullStride, _smallStride, _itemSize; // per dim-0 step (0 = broadcast over dim 0)
    // Vector: the item is [outer, len, inner] and the small operand is indexed by the middle coordinate.
    private readonly int _vecOuter, _vecLen, _vecInner;
    // General: item dims and per-operand strides (0 where broadcast), the walk's counter (scratch).
    private readonly int[] _dims = [], _strideFull = [], _strideSmall = [], _counter = [];
    private readonly bool[] _inPlace = new bool[2];

    public AddOp(AddNode node, IReadOnlyList<int[]> inputShapes, int[] outputShape)
        : base(node, inputShapes, outputShape)
    {
        // A rank-0 sum is a rank-1 sum of one element: then dim 0 always exists.
        int[] y = outputShape.Length == 0 ? [1] : outputShape;
        int r = y.Length;
        int[] a = Align(inputShapes[0], r), b = Align(inputShapes[1], r);
        for (int i = 0; i < 2; i++) _inPlace[i] = Shapes.SameAs(inputShapes[i], outputShape);
        _batched = y[0] == Shapes.Batch;
        _lead = y[0];

        // Item = dims 1..r-1, all static (shape inference keeps the batch at dim 0).
        int ri = r - 1;
        var dims = y.AsSpan(1).ToArray();
        int[] ia = a.AsSpan(1).ToArray(), ib = b.AsSpan(1).ToArray();
        _itemSize = (int)Product(dims, 0, ri, 0);
        int sizeA = (int)Product(ia, 0, ri, 0), sizeB = (int)Product(ib, 0, ri, 0);
        // Put the operand that has the whole item shape first (the fast paths need one); compare shapes, not
        // sizes, so an empty item still classifies by its broadcast pattern.
        _swap = !Shapes.SameAs(ia, dims) && Shapes.SameAs(ib, dims);
        if (_swap) { (a, b) = (b, a); (ia, ib) = (ib, ia); (sizeA, sizeB) = (sizeB, sizeA); }
        _fullStride = a[0] == 1 && y[0] != 1 ? 0 : sizeA;
        _smallStride = b[0] == 1 && y[0] != 1 ? 0 : sizeB;

        bool fullIsWhole = Shapes.SameAs(ia, dims);
        if (fullIsWhole && Shapes.SameAs(ib, dims)) _kind = Kind.Same;
        else if (fullIsWhole && sizeB == 1) _kind = Kind.Scalar;
        else if (fullIsWhole && SingleVaryingDim(ib, dims, out int d))
        {
            _kind = Kind.Vector;
            _vecOuter = (int)Product(dims, 0, d, 0);
            _vecLen = dims[d];
            _vecInner = (int)Product(dims, d + 1, ri, 0);
        }
        else
        {
            _kind = Kind.General;
            _dims = dims;
            _strideFull = Strides(ia, dims);
            _strideSmall = Strides(ib, dims);
            _counter = new int[ri];
        }
    }

    public override bool AllowsInPlace(int input) => _inPlace[input];

    /// <summary>The loop chosen for the batch-independent part: "same", "scalar", "vector" or "general"
    /// (for diagnostics and tests: a broadcast that should be fast must not land on "general").</summary>
    public string Path => _kind switch
    {
        Kind.Same => "same",
        Kind.Scalar => "scalar",
        Kind.Vector => "vector",
        _ => "general",
    };

    private static int[] Align(int[] s, int rank)
    {
        var r = new int[rank];
        for (int i = 0; i < rank; i++) r[i] = i - (rank - s.Length) >= 0 ? s[i - (rank - s.Length)] : 1;
        return r;
    }

    /// <summary>Whether <paramref name="small"/> equals <paramref name="dims"/> on exactly one dim and is 1 elsewhere.</summary>
    private static bool SingleVaryingDim(int[] small, int[] dims, out int dim)
    {
        dim = -1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (small[i] == 1) continue;
            if (dim >= 0) return false;
            dim = i;
        }
        return dim >= 0;
    }

    /// <summary>C-order strides of an operand, 0 on its broadcast dims.</summary>
    private static int[] Strides(int[] s, int[] dims)
    {
        var st = new int[s.Length];
        int stride = 1;
        for (int d = s.Length - 1; d >= 0; d--)
        {
            st[d] = s[d] == 1 && dims[d] != 1 ? 0 : stride;
            stride *= s[d];
        }
        return st;
    }

    public override void Run(ReadOnlySpan<ReadOnlyMemory<float>> inputs, Span<float> output, int batch)
    {
        Check(inputs, output, batch);
        ReadOnlySpan<float> full = inputs[_swap ? 1 : 0].Span, small = inputs[_swap ? 0 : 1].Span;
        int lead = _batched ? batch : _lead;
        int item = _itemSize;
        if (item == 0) return;
        for (int n = 0; n < lead; n++)
        {
            Span<float> y = output.Slice(n * item, item);
            int fa = n * _fullStride, sb = n * _smallStride;
            switch (_kind)
            {
                case Kind.Same:
                    AddSame(full.Slice(fa, item), small.Slice(sb, item), y);
                    break;
                case Kind.Scalar:
                    AddScalar(full.Slice(fa, item), small[sb], y);
                    break;
                case Kind.Vector:
                    AddVector(full.Slice(fa, item), small.Slice(sb, _vecLen), y);
                    break;
                default:
                    AddGeneral(full, fa, small, sb, y);
                    break;
            }
        }
    }

    private static void AddSame(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
            for (int w = Vector<float>.Count; i <= a.Length - w; i += w)
                (new Vector<float>(a.Slice(i, w)) + new Vector<float>(b.Slice(i, w))).CopyTo(y.Slice(i, w));
        for (; i < a.Length; i++) y[i] = a[i] + b[i];
    }

    private static void AddScalar(ReadOnlySpan<float> a, float b, Span<float> y)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vb = new Vector<float>(b);
            for (int w = Vector<float>.Count; i <= a.Length - w; i += w)
                (new Vector<float>(a.Slice(i, w)) + vb).CopyTo(y.Slice(i, w));
        }
        for (; i < a.Length; i++) y[i] = a[i] + b;
    }

    private void AddVector(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        int inner = _vecInner, block = _vecLen * inner;
        for (int o = 0; o < _vecOuter; o++)
        {
            int off = o * block;
            if (inner == 1)
                AddSame(a.Slice(off, block), b, y.Slice(off, block));
            else
                for (int j = 0; j < _vecLen; j++, off += inner)
                    AddScalar(a.Slice(off, inner), b[j], y.Slice(off, inner));
        }
    }

    /// <summary>Odometer walk: the last dim is the inner loop, the counter carries into the outer dims.</summary>
    private void AddGeneral(ReadOnlySpan<float> a, int fa, ReadOnlySpan<float> b, int sb, Span<float> y)
    {
        int[] dims = _dims, sa = _strideFull, sbs = _strideSmall, cnt = _counter;
        int last = dims.Length - 1;
        int len = dims[last], stepA = sa[last], stepB = sbs[last];
        int rows = y.Length / len;
        Array.Clear(cnt);
        int ia = fa, ib = sb, iy = 0;
        for (int row = 0; row < rows; row++)
        {
            for (int j = 0, pa = ia, pb = ib; j < len; j++, pa += stepA, pb += stepB)
                y[iy++] = a[pa] + b[pb];
            for (int d = last - 1; d >= 0; d--)
            {
                ia += sa[d]; ib += sbs[d];
                if (++cnt[d] < dims[d]) break;
                ia -= sa[d] * dims[d]; ib -= sbs[d] * dims[d];
                cnt[d] = 0;
            }
        }
    }
}
