using System.CommandLine;
using Wand.Discovery;
using Wand.Errors;
using Wand.Transport.Containers;
using Wand.Transport.Exec;
using Wand.Transport.Local;

namespace Wand.Cli.Commands;

/// <summary>The <c>--container</c> and <c>--runtime</c> options shared by ps, exec and debug, and resolving them.</summary>
public static class ContainerOptions
{
    public static Option<string?> Container() => new("--container") { Description = "a local Podman or Docker container (name or ID)" };

    public static Option<string?> Runtime()
    {
        var option = new Option<string?>("--runtime") { Description = "podman or docker (default: whichever knows the container)" };
        option.AcceptOnlyFromAmong("podman", "docker");
        return option;
    }

    public static Option<string> Route()
    {
        var option = new Option<string>("--route")
        {
            Description = "host: through /proc from this machine; exec: through the runtime's exec with the target's own interpreter; auto: host when the container's processes are reachable from here",
            DefaultValueFactory = _ => "auto",
        };
        option.AcceptOnlyFromAmong("auto", "host", "exec");
        return option;
    }

    /// <summary>
    /// Finds the running container, says which runtime knows it, and picks the route to its
    /// processes: from this machine when they are visible here, else through the runtime's exec.
    /// </summary>
    /// <param name="sampleCpu">Measure CPU % when scanning (for people choosing a process; sessions scan often and skip it).</param>
    public static async Task<(ContainerInfo Container, IContainerRoute Route)> ResolveAsync(IUserInterface ui, string name, string? runtime, string route, CancellationToken cancellationToken, bool sampleCpu = false)
    {
        var runtimes = runtime is null ? null : new[] { Enum.Parse<ContainerRuntime>(runtime, ignoreCase: true) };
        var found = await new ContainerLocator(runtimes).FindAsync(name, cancellationToken);
        if (!found.Running)
            throw new WandException(ExitCodes.ProcessNotFound, $"container {found.Name} is not running ({found.Status})", $"start it: {found.RuntimeName} start {found.Name}");
        var visible = found.HostPid > 0 && ProcFs.Default.Exists(found.HostPid) && ProcFs.Default.ReadLink(found.HostPid, "root") is not null;
        if (route == "host" && !visible)
            throw new WandException(ExitCodes.PermissionDenied,
                $"the processes of {found.RuntimeName} container {found.Name} are not reachable from this machine (a VM such as Docker Desktop, another PID namespace, or no permission)",
                "use --route exec, or run wand on the Linux host running the container");
        IContainerRoute chosen = route == "exec" || (route == "auto" && !visible)
            ? new ExecRoute(new ExecPayloadRunner(new ContainerExecTarget(found), TimeProvider.System, ui))
            : new HostContainerRoute(found, ProcFs.Default, TimeProvider.System, ui)
            {
                CpuSampleInterval = sampleCpu ? PythonProcessScanner.DefaultSampleInterval : TimeSpan.Zero,
            };
        ui.Info($"{found.RuntimeName} container {found.Name} ({found.ShortId}), reached {(chosen.Name == "host" ? $"from this machine (its first process is PID {found.HostPid} here)" : $"through `{found.RuntimeName} exec`")}");
        return (found, chosen);
    }

    /// <summary>The process with <paramref name="pidInside"/> inside the container, among the route's processes.</summary>
    public static PythonProcess ByPidInside(IContainerRoute route, IReadOnlyList<PythonProcess> processes, int pidInside, ContainerInfo container) =>
        processes.FirstOrDefault(p => route.PidInside(p.Pid) == pidInside)
            ?? throw new WandException(ExitCodes.ProcessNotFound, $"no Python process with PID {pidInside} in container {container.Name}", $"run `wand ps --container {container.Name}`");
}
