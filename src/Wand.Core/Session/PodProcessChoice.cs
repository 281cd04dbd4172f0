using Wand.Discovery;
using Wand.Errors;
using Wand.Injection;
using Wand.Transport.Kubernetes;

namespace Wand.Session;

/// <summary>Which of a pod's Python processes a session or an exec is about.</summary>
public static class PodProcessChoice
{
    /// <summary>
    /// The pod's processes (the app's: not a `kubectl exec` beside it) when some can be attached; else the reason, with what to do about it in a
    /// pod: the SYS_PTRACE capability when the kernel refuses access, a 3.14 image (or rdg) when the
    /// Python is older.
    /// </summary>
    public static IReadOnlyList<PythonProcess> Attachable(IReadOnlyList<PythonProcess> all, PodExecTarget exec)
    {
        // A `kubectl exec` (a probe, someone's python -c) runs beside the app: never the process meant (--pid still reaches it).
        var processes = ContainerChoice.AppProcesses(all) is { Count: > 0 } app ? app : all;
        if (processes.Count == 0 || processes.Any(p => p.Attach.CanAttach)) return processes;
        if (processes.FirstOrDefault(p => p.Attach.State == AttachState.PermissionDenied) is { } denied)
            throw new WandException(ExitCodes.PermissionDenied,
                $"the kernel in {exec.Description} refuses wand access to PID {denied.Pid} ({denied.Attach.Reason})", PodRoute.PodPermissionHint);
        if (processes.All(p => p.Attach.State == AttachState.UnsupportedVersion))
            throw new UnsupportedPythonException(
                $"the Python processes in {exec.Description} cannot be attached: {string.Join("; ", processes.Select(p => $"PID {p.Pid}: {p.Attach.Reason}"))}",
                "build the image on Python 3.14 (e.g. FROM python:3.14-slim)", new Remedy(RemedyKind.StartUnderLauncher));
        return processes;
    }

    /// <summary>The process with <paramref name="pid"/> among the pod's processes.</summary>
    public static PythonProcess ByPid(IReadOnlyList<PythonProcess> processes, int pid, PodExecTarget exec) =>
        processes.FirstOrDefault(x => x.Pid == pid)
            ?? throw new PodProcessNotFoundException(pid, exec.Description, exec.Pod.Namespace, exec.Pod.Name);
}
