using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using EdgeMixedAccum.Runtime.Engine;

namespace EdgeMixedAccum.Native;

/// <summary>
/// The C ABI of runtime/ema.h. A model handle is a <see cref="GCHandle"/> (normal, not pinned) to a
/// <see cref="Session"/> built with <see cref="SessionOptions.Default"/> (adaptive, the model's plan).
/// Every export catches every exception: failures become a return code (or NULL) plus a thread-local
/// message for <c>ema_last_error</c>; nothing throws across the boundary.
/// </summary>
public static unsafe class Exports
{
    // Return codes (ema.h: EMA_OK, EMA_E_ARG, EMA_E_MODEL, EMA_E_INTERNAL).
    private const int Ok = 0, EArg = 1, EModel = 2, EInternal = 3;

    /// <summary>This thread's last error message: NUL-terminated UTF-8, native memory, replaced (and freed) by the next failure.</summary>
    [ThreadStatic] private static byte* t_error;

    /// <summary>Returned by ema_last_error before any failure on the thread (never freed).</summary>
    private static readonly byte* s_empty = (byte*)NativeMemory.AllocZeroed(1);

    private static void SetError(string message)
    {
        int n = Encoding.UTF8.GetByteCount(message);
        var p = (byte*)NativeMemory.Alloc((nuint)n + 1);
        Encoding.UTF8.GetBytes(message, new Span<byte>(p, n));
        p[n] = 0;
        var old = t_error;
        t_error = p;
        if (old is not null) NativeMemory.Free(old);
    }

    /// <summary>Records <paramref name="e"/> and returns its code: EMA_E_MODEL for the runtime's own errors
    /// (bad or unsupported model, I/O, non-finite input), EMA_E_ARG for bad arguments, else EMA_E_INTERNAL.</summary>
    private static int Fail(Exception e)
    {
        try
        {
            SetError(e switch
            {
                EmaException or IOException or UnauthorizedAccessException => e.Message,
                ArgumentException => e.Message,
                _ => $"{e.GetType().Name}: {e.Message}",
            });
        }
        catch { /* out of memory while recording: the code still tells the caller */ }
        return e switch
        {
            EmaException or IOException or UnauthorizedAccessException => EModel,
            ArgumentException => EArg,
            _ => EInternal,
        };
    }

    private static int FailArg(string message)
    {
        try { SetError(message); } catch { }
        return EArg;
    }

    /// <summary>The session behind a handle, or null (after recording an error) for NULL or a freed handle.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Session? Get(nint model, string function)
    {
        if (model == 0) { FailArg($"{function}: model is NULL"); return null; }
        var s = GCHandle.FromIntPtr(model).Target as Session;
        if (s is null) FailArg($"{function}: model handle is not a live model");
        return s;
    }

    [UnmanagedCallersOnly(EntryPoint = "ema_load")]
    public static nint Load(byte* path)
    {
        try
        {
            if (path is null) { FailArg("ema_load: path is NULL"); return 0; }
            string p = Marshal.PtrToStringUTF8((nint)path) ?? "";
            if (p.Length == 0) { FailArg("ema_load: path is empty"); return 0; }
            var s = Session.Load(p, SessionOptions.Default);
            try { return GCHandle.ToIntPtr(GCHandle.Alloc(s)); }
            catch { s.Dispose(); throw; }
        }
        catch (Exception e) { Fail(e); return 0; }
    }

    [UnmanagedCallersOnly(EntryPoint = "ema_input_size")]
    public static int InputSize(nint model)
    {
        try { return Get(model, "ema_input_size") is { } s ? s.InputLength : -EArg; }
        catch (Exception e) { return -Fail(e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "ema_output_size")]
    public static int OutputSize(nint model)
    {
        try { return Get(model, "ema_output_size") is { } s ? s.OutputLength : -EArg; }
        catch (Exception e) { return -Fail(e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "ema_run")]
    public static int Run(nint model, float* input, float* output)
    {
        try
        {
            if (Get(model, "ema_run") is not { } s) return EArg;
            if (input is null) return FailArg("ema_run: input is NULL");
            if (output is null) return FailArg("ema_run: output is NULL");
            // Spans over the caller's buffers: nothing is allocated in steady state (Session.Run allocates
            // only on its first run of a larger batch, never here: the batch is always 1).
            s.Run(new ReadOnlySpan<float>(input, s.InputLength), new Span<float>(output, s.OutputLength));
            return Ok;
        }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "ema_last_report")]
    public static int LastReport(nint model, double* recomputeFraction, double* maxBound)
    {
        try
        {
            if (Get(model, "ema_last_report") is not { } s) return EArg;
            var report = s.LastReport; // its sums index an array: reading them allocates nothing
            if (recomputeFraction is not null) *recomputeFraction = report.RecomputeFraction;
            if (maxBound is not null) *maxBound = report.MaxPredictedRelError;
            return Ok;
        }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "ema_last_error")]
    public static byte* LastError()
    {
        try { return t_error is not null ? t_error : s_empty; }
        catch { return s_empty; }
    }

    [UnmanagedCallersOnly(EntryPoint = "ema_free")]
    public static void Free(nint model)
    {
        try
        {
            if (model == 0) return;
            var h = GCHandle.FromIntPtr(model);
            var s = h.Target as Session;
            h.Free();
            s?.Dispose();
        }
        catch (Exception e) { Fail(e); }
    }
}
