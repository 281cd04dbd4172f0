using System.CommandLine;
using Wand.Errors;
using Wand.Transport.Containers;
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

    /// <summary>Finds the running container, says which runtime knows it, and checks that wand can reach its processes from here.</summary>
    public static async Task<ContainerInfo> ResolveAsync(IUserInterface ui, string name, string? runtime, CancellationToken cancellationToken)
    {
        var runtimes = runtime is null ? null : new[] { Enum.Parse<ContainerRuntime>(runtime, ignoreCase: true) };
        var found = await new ContainerLocator(runtimes).FindAsync(name, cancellationToken);
        if (!found.Running)
            throw new WandException(ExitCodes.ProcessNotFound, $"container {found.Name} is not running ({found.Status})", $"start it: {found.RuntimeName} start {found.Name}");
        if (found.HostPid <= 0 || !ProcFs.Default.Exists(found.HostPid))
            throw new WandException(ExitCodes.PermissionDenied,
                $"the processes of {found.RuntimeName} container {found.Name} are not visible from this machine (a VM such as Docker Desktop, or another PID namespace)",
                "run wand where the container's processes are visible (on the Linux host running it)");
        ui.Info($"{found.RuntimeName} container {found.Name} ({found.ShortId}), first process is PID {found.HostPid} here");
        return found;
    }

    /// <summary>The host PID of the process that has <paramref name="pidInside"/> inside the container.</summary>
    public static int HostPid(ContainerInfo container, int pidInside) =>
        ContainerProcesses.HostPidOf(pidInside, container.HostPid, ProcFs.Default)
            ?? throw new WandException(ExitCodes.ProcessNotFound, $"no process with PID {pidInside} in container {container.Name}", $"run `wand ps --container {container.Name}`");
}
