namespace EdgeMixedAccum.Tests;

/// <summary>Locates the repository (the folder holding EdgeMixedAccum.sln) from the test binary.</summary>
public static class TestPaths
{
    public static string Root { get; } = FindRoot();
    public static string Golden => Path.Combine(Root, "tests", "golden");
    public static string Fixtures => Path.Combine(Root, "tests", "fixtures");

    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "EdgeMixedAccum.sln"))) return d.FullName;
        throw new InvalidOperationException("cannot find EdgeMixedAccum.sln above " + AppContext.BaseDirectory);
    }
}
