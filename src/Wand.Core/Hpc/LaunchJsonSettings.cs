namespace Wand.Hpc;

/// <summary>
/// The values <c>rdg init</c> puts into launch.json. Every null value stays a VS Code
/// <c>${input:...}</c> prompt, so the file works before any job ran; known values (from
/// <c>--port</c>, <c>--remote-root</c> or a session record) are written in directly.
/// </summary>
/// <param name="LocalPort">The laptop side of the SSH tunnel (<c>ssh -L LOCAL:NODE:PORT</c>).</param>
/// <param name="RemoteRoot">The job's working directory on the cluster, for pathMappings.</param>
/// <param name="Node">The compute node debugpy listens on.</param>
/// <param name="NodePort">The port debugpy listens on there.</param>
public sealed record LaunchJsonSettings(int? LocalPort = null, string? RemoteRoot = null, string? Node = null, int? NodePort = null)
{
    public const string TunnelName = "Python Debugger: Remote Attach (via SSH Tunnel)";
    public const string NodeName = "Python Debugger: Attach to Compute Node";
}
