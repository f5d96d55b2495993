using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace EdgeMixedAccum.Runtime.Engine;

/// <summary>
/// A read-only memory-mapped file seen as <see cref="Memory{T}"/>: the .ema reader parses it in place and
/// int8/fp16 weights are used straight from the page cache, so loading a model copies no weight bytes.
/// The mapping lives until <see cref="IDisposable.Dispose"/>; spans taken from it must not outlive it.
/// </summary>
internal sealed unsafe class MappedFile : MemoryManager<byte>
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _pointer;
    private readonly int _length;

    public MappedFile(string path, long maxBytes)
    {
        long length;
        try { length = new FileInfo(path).Length; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new EmaException($"cannot open model file '{path}': {e.Message}", e); }
        if (!File.Exists(path)) throw new EmaException($"model file '{path}' does not exist");
        if (length > maxBytes) throw new Format.EmaFormatException(path, "HEADER", 0, $"file is {length} bytes, more than the limit {maxBytes}");
        _length = (int)length;
        if (length == 0) return; // an empty file cannot be mapped; the reader reports it as too short
        try
        {
            _map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            _view = _map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref _pointer);
            _pointer += _view.PointerOffset;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Dispose(true);
            throw new EmaException($"cannot map model file '{path}': {e.Message}", e);
        }
    }

    public override Span<byte> GetSpan() => _pointer == null ? Span<byte>.Empty : new Span<byte>(_pointer, _length);

    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

    public override void Unpin() { }

    protected override void Dispose(bool disposing)
    {
        if (_pointer != null) { _view!.SafeMemoryMappedViewHandle.ReleasePointer(); _pointer = null; }
        _view?.Dispose();
        _map?.Dispose();
    }
}
