namespace Wand.Discovery;

/// <summary>One Python process as <c>wand ps</c> shows it.</summary>
/// <param name="User">Name of <paramref name="Uid"/> in the host's /etc/passwd, or the number.</param>
/// <param name="Version">"3.14.2" from the binary or memory, "3.11" from the file name, or null.</param>
/// <param name="CpuPercent">CPU use over the sampling interval, in percent of one core.</param>
/// <param name="Root">The target's root directory (readlink /proc/PID/root): "/", a chroot or a container path; null when not readable.</param>
/// <param name="Cwd">The target's working directory (readlink /proc/PID/cwd); null when not readable.</param>
public sealed record PythonProcess(
    int Pid,
    int ParentPid,
    int Uid,
    string User,
    string? Version,
    ProcessRole Role,
    string? RoleDetail,
    double CpuPercent,
    long RssBytes,
    TimeSpan Uptime,
    IReadOnlyList<string> CommandLine,
    string? Root,
    string? Cwd,
    Attachability Attach);
