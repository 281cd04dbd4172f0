namespace Rdg.Cli;

/// <summary>How to run this same rdg again (on a node through srun): the executable (the NativeAOT or apphost one), or <c>dotnet exec rdg.dll</c>.</summary>
public static class SelfCommand
{
    public static IReadOnlyList<string> Argv()
    {
        var process = Environment.ProcessPath ?? "rdg";
        // Under `dotnet`, rdg.dll is in the app's base directory (Assembly.Location is empty in a single-file or AOT build).
        return Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? [process, "exec", Path.Combine(AppContext.BaseDirectory, "rdg.dll")]
            : [process];
    }
}
