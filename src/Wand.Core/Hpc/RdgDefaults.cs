namespace Wand.Hpc;

/// <summary>Defaults that must agree everywhere rdg prints or writes them (job output, launch.json, tunnels).</summary>
public static class RdgDefaults
{
    /// <summary>The port debugpy listens on when it is free (the next free one otherwise).</summary>
    public const int Port = 5679;

    /// <summary>The laptop side of the SSH tunnel: fixed, so launch.json never has to change between jobs.</summary>
    public const int LocalPort = 5679;

    /// <summary>How long a crashed program waits for a debugger in post-mortem mode before the job ends.</summary>
    public static readonly TimeSpan PostMortemTimeout = TimeSpan.FromMinutes(30);
}
