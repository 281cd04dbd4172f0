namespace Wand.Errors;

/// <summary>Thrown when debugpy started in the target but could not listen on the port asked for; the CLI says how to choose another.</summary>
public sealed class DebugpyListenFailedException(int pid, string host, int port, string why)
    : InjectionFailedException($"debugpy could not listen on {host}:{port} in PID {pid}: {why}", "choose another port")
{
    public int Port { get; } = port;

    /// <summary>Something else holds the port in the target's network namespace (EADDRINUSE).</summary>
    public bool PortInUse { get; init; }
}
