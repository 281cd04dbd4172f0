namespace Wand.Errors;

/// <summary>
/// kubectl failed; <see cref="Exception.Message"/> is kubectl's own message (its klog diagnostics left out).
/// <see cref="ClusterUnreachable"/>: kubectl reached no API server (none configured, or the configured one
/// refused or timed out), so the fix is choosing the cluster, which the CLI words with its own flags.
/// </summary>
public sealed class KubectlFailedException(int exitCode, string message, bool clusterUnreachable)
    : WandException(exitCode, message)
{
    public bool ClusterUnreachable { get; } = clusterUnreachable;
}
