namespace Wand.Hpc;

/// <summary>One live <c>ssh -L</c> forward: the ssh process and the 127.0.0.1 port it listens on.</summary>
public sealed record SshForward(int SshPid, int LocalPort);
