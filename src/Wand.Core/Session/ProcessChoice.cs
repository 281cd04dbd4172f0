using System.Globalization;
using Wand.Discovery;
using Wand.Errors;

namespace Wand.Session;

/// <summary>
/// Which process to debug when the user named none: the attachable ones, the recommended one (a
/// reload worker over its parent, see <see cref="RoleClassifier.Recommend"/>) first. The rule decides;
/// whoever holds a terminal may still ask the user among <see cref="Candidates"/>.
/// </summary>
/// <param name="Candidates">The processes that can be attached, the recommended one first.</param>
/// <param name="Recommended">The process meant unless the user says otherwise, or null when several could be meant.</param>
public sealed record ProcessChoice(IReadOnlyList<PythonProcess> Candidates, PythonProcess? Recommended)
{
    /// <summary>The choice among <paramref name="all"/> (the processes in <paramref name="where"/>); throws when none can be attached, saying why.</summary>
    public static ProcessChoice Among(IReadOnlyList<PythonProcess> all, string where)
    {
        var candidates = all.Where(p => p.Attach.CanAttach).ToList();
        if (candidates.Count == 0 && all.Count > 0 && all.All(p => p.Attach.State == AttachState.UnsupportedVersion))
            throw new UnsupportedPythonException($"the Python processes in {where} cannot be attached: {string.Join("; ", all.Select(p => $"PID {p.Pid}: {p.Attach.Reason}"))}",
                "wand reaches CPython 3.9+ (3.9-3.13 on x86-64 only)", new Remedy(RemedyKind.StartUnderLauncher));
        if (candidates.Count == 0)
            throw new WandException(ExitCodes.ProcessNotFound,
                all.Count == 0 ? $"no Python processes found in {where}" : $"none of the {all.Count} Python processes in {where} can be attached: {string.Join("; ", all.Select(p => $"PID {p.Pid}: {p.Attach.Reason}"))}",
                remedy: new Remedy(RemedyKind.ListProcesses));
        var recommended = RoleClassifier.Recommend(candidates);
        return new ProcessChoice(recommended is null ? candidates : [recommended, .. candidates.Where(p => p != recommended)], recommended);
    }

    /// <summary>The process taken without asking: the recommended one, or the only candidate; throws when several could be meant.</summary>
    public PythonProcess WithoutAsking() =>
        Recommended is not null || Candidates.Count == 1
            ? Candidates[0]
            : throw new AmbiguousProcessException([.. Candidates.Select(p => $"PID {p.Pid} {Summary(p)}")]);

    /// <summary>One line that tells processes apart: role, Python, CPU, memory, command line.</summary>
    public static string Summary(PythonProcess p) =>
        $"{p.RoleDetail ?? p.Role.ToString().ToLowerInvariant()}, Python {p.Version}, CPU {p.CpuPercent.ToString("0.0", CultureInfo.InvariantCulture)}%, " +
        $"RSS {p.RssBytes / (1024 * 1024)} MiB, {string.Join(' ', p.CommandLine)}";
}
