namespace Wand.Hpc;

/// <summary>
/// One live <c>ssh -L</c> forward: the ssh process that listens on the 127.0.0.1 port.
/// <paramref name="ThroughMaster"/>: that process is the user's shared connection (ControlMaster), not rdg's own ssh.
/// </summary>
public sealed record SshForward(int SshPid, int LocalPort, bool ThroughMaster);
