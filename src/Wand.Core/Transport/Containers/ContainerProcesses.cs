using Wand.Transport.Local;

namespace Wand.Transport.Containers;

/// <summary>The host PIDs that belong to a container: those in the PID namespace of its first process.</summary>
public static class ContainerProcesses
{
    public static Func<int, bool> Filter(int initPid, ProcFs procfs)
    {
        var ns = procfs.ReadLink(initPid, "ns/pid");
        return pid => ns is not null && procfs.ReadLink(pid, "ns/pid") == ns;
    }

    /// <summary>The PID a process has inside its container (the last NSpid entry), or the host PID.</summary>
    public static int PidInside(int hostPid, ProcFs procfs) =>
        procfs.Status(hostPid)?.NamespacePids is { Count: > 0 } ns ? ns[^1] : hostPid;

    /// <summary>The host PID of the container process that has <paramref name="pidInside"/> inside it.</summary>
    public static int? HostPidOf(int pidInside, int initPid, ProcFs procfs)
    {
        var inContainer = Filter(initPid, procfs);
        return procfs.Pids().Where(inContainer).Cast<int?>().FirstOrDefault(p => PidInside(p!.Value, procfs) == pidInside);
    }
}
