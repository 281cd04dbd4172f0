using System.Reflection;

namespace Rdg.Cli;

/// <summary>How to run this same rdg again (on a node through srun): the apphost, or <c>dotnet exec rdg.dll</c>.</summary>
public static class SelfCommand
{
    public static IReadOnlyList<string> Argv()
    {
        var process = Environment.ProcessPath ?? "rdg";
        return Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? [process, "exec", Assembly.GetExecutingAssembly().Location]
            : [process];
    }
}
