namespace EdgeMixedAccum.Cli.Tests;

/// <summary>Runs the CLI in-process and captures its exit code and both streams (shared by the CLI tests).</summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Err) Ema(params string[] args)
    {
        var o = new StringWriter(); var e = new StringWriter();
        int code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }
}
