namespace Wand.Injection.Attacher;

/// <summary>
/// The ELF object of a process that holds <c>_PyRuntime</c>, found without touching the process's memory.
/// </summary>
/// <param name="MappedPath">The path as /proc/PID/maps shows it.</param>
/// <param name="OpenedPath">The path wand opened to read it (through /proc/PID/root, /proc/PID/exe, or as is).</param>
/// <param name="RuntimeAddress">Address of <c>_PyRuntime</c> in the target.</param>
/// <param name="Version">Version from the file's debug offsets table (3.13+) or its Py_Version constant (3.11+); null before 3.11.</param>
/// <param name="VersionFromName">Major.minor guessed from the file name (python3.11, libpython3.12.so), for display only.</param>
public sealed record PythonBinary(string MappedPath, string OpenedPath, ulong RuntimeAddress, PythonVersion? Version, string? VersionFromName)
{
    /// <summary>What to add to a virtual address of the file to get its address in the process.</summary>
    public ulong LoadBias { get; init; }

    /// <summary>
    /// Major and minor version: from the debug offsets when the file has them (3.13+), else from
    /// <c>Py_Version</c> (3.11+) or the file name; null when none says.
    /// </summary>
    public (int Major, int Minor)? MajorMinor =>
        Version is { } v ? (v.Major, v.Minor)
        : System.Version.TryParse(VersionFromName, out var n) ? (n.Major, n.Minor)
        : null;
}
