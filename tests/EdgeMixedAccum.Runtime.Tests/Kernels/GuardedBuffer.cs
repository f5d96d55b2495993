using System.Runtime.InteropServices;

namespace EdgeMixedAccum.Runtime.Tests.Kernels;

/// <summary>Native memory followed by a PROT_NONE page (Linux/macOS mmap): Tail(n) returns the last n
/// elements before the guard, so touching one element past the span faults instead of reading a
/// neighbouring object the way an unchecked load past a managed array would. Elsewhere: a plain array.</summary>
public sealed unsafe class GuardedBuffer<T> : IDisposable where T : unmanaged
{
    private const int ProtNone = 0, ProtRw = 3, MapPrivateAnon = 0x02 | 0x20;
    private readonly byte* _base;
    private readonly nuint _len, _dataBytes;
    private readonly T[]? _fallback;

    public GuardedBuffer(int capacity)
    {
        if (!OperatingSystem.IsLinux()) { _fallback = new T[capacity]; return; }
        nuint page = (nuint)Environment.SystemPageSize;
        _dataBytes = ((nuint)(capacity * sizeof(T)) + page - 1) / page * page;
        if (_dataBytes == 0) _dataBytes = page;
        _len = _dataBytes + page;
        _base = (byte*)Libc.mmap(null, _len, ProtRw, MapPrivateAnon, -1, 0);
        if (_base == (byte*)-1) throw new InvalidOperationException("mmap failed");
        if (Libc.mprotect(_base + _dataBytes, page, ProtNone) != 0) throw new InvalidOperationException("mprotect failed");
    }

    public Span<T> Tail(int n) => _fallback is { } a
        ? a.AsSpan(a.Length - n)
        : new Span<T>(_base + _dataBytes - (nuint)(n * sizeof(T)), n);

    public void Dispose()
    {
        if (_fallback is null) Libc.munmap(_base, _len);
    }
}

internal static unsafe class Libc
{
    [DllImport("libc", SetLastError = true)] internal static extern void* mmap(void* addr, nuint len, int prot, int flags, int fd, nint off);
    [DllImport("libc", SetLastError = true)] internal static extern int mprotect(void* addr, nuint len, int prot);
    [DllImport("libc", SetLastError = true)] internal static extern int munmap(void* addr, nuint len);
}
