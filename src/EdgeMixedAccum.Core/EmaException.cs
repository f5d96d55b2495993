namespace EdgeMixedAccum;

/// <summary>
/// Base of every error this project raises for bad input (a corrupt file, an unsupported op, a wrong
/// shape). Callers catch this one type to report a clear message instead of crashing.
/// </summary>
public class EmaException : Exception
{
    public EmaException(string message) : base(message) { }
    public EmaException(string message, Exception inner) : base(message, inner) { }
}
