namespace Wand.Injection.Attacher;

/// <summary>
/// The ELF object of a process that holds <c>_PyRuntime</c>, found without touching the process's memory.
/// </summary>
/// <param name="MappedPath">The path as /proc/PID/maps shows it.</param>
/// <param name="OpenedPath">The path wand opened to read it (through /proc/PID/root, /proc/PID/exe, or as is).</param>
/// <param name="RuntimeAddress">Address of <c>_PyRuntime</c> in the target.</param>
/// <param name="Version">Version from the file's debug offsets table; null when the file has no cookie (before 3.13).</param>
/// <param name="VersionFromName">Major.minor guessed from the file name (python3.11, libpython3.12.so), for display only.</param>
public sealed record PythonBinary(string MappedPath, string OpenedPath, ulong RuntimeAddress, PythonVersion? Version, string? VersionFromName);
