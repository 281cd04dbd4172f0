namespace Wand.Hpc;

/// <summary>
/// Where the laptop's <c>ssh -L</c> goes: user@host of the login node. In order: a configured value
/// (<c>--login</c>, <c>RDG_LOGIN_HOST</c>), the server address of the SSH session the job was
/// submitted from (<c>SSH_CONNECTION</c>: the address the user really reached, unlike the internal
/// submit host name) resolved to a name, then <c>SLURM_SUBMIT_HOST</c> as a fully qualified name.
/// When nothing resolves, a placeholder and how to set it.
/// </summary>
public sealed record LoginTarget(string User, string? Host, string Source)
{
    public const string Placeholder = "<login-host>";

    public string SshDestination => $"{User}@{Host ?? Placeholder}";

    public bool Known => Host is not null;

    /// <param name="resolveName">A host name or address to its fully qualified name (null when it does not resolve).</param>
    public static LoginTarget Resolve(string? configured, Func<string, string?> environment, Func<string, string?> resolveName)
    {
        var user = environment("SLURM_JOB_USER") is { Length: > 0 } u ? u : environment("USER") is { Length: > 0 } v ? v : Environment.UserName;
        if (configured is { Length: > 0 } c)
        {
            var at = c.LastIndexOf('@');
            return at > 0 ? new LoginTarget(c[..at], c[(at + 1)..], "configured") : new LoginTarget(user, c, "configured");
        }
        if (environment("SSH_CONNECTION")?.Split(' ', StringSplitOptions.RemoveEmptyEntries) is { Length: 4 } ssh)
            return new LoginTarget(user, resolveName(ssh[2]) ?? ssh[2], "SSH_CONNECTION");
        if (environment("SLURM_SUBMIT_HOST") is { Length: > 0 } submit && resolveName(submit) is { } fqdn)
            return new LoginTarget(user, fqdn, "SLURM_SUBMIT_HOST");
        return new LoginTarget(user, null, "unknown");
    }
}
