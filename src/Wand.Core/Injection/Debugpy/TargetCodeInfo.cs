namespace Wand.Injection.Debugpy;

/// <summary>Where the target's code lives, as the target sees it; used for the editor's pathMappings.</summary>
/// <param name="UserRoot">Common folder of the imported modules that are not stdlib or installed packages.</param>
/// <param name="HostRoot">The target's root as seen from here ("/" for an ordinary local process).</param>
public sealed record TargetCodeInfo(int Pid, string Cwd, string? MainFile, IReadOnlyList<string> Argv, string? UserRoot, string Python, string Executable, string HostRoot)
{
    /// <summary>The folder an editor should map its workspace to: the user's code, else the main script's folder, else the cwd.</summary>
    public string RemoteRoot =>
        UserRoot ?? (MainFile is { } m && !m.Contains("-packages/", StringComparison.Ordinal) ? Path.GetDirectoryName(m)! : Cwd);

    /// <summary>The same folder reached from this machine, when the target lives in another root here.</summary>
    public string? LocalRootOnThisMachine => HostRoot == "/" ? RemoteRoot : HostRoot.TrimEnd('/') + RemoteRoot;
}
