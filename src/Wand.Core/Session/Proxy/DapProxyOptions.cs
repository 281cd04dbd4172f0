namespace Wand.Session.Proxy;

/// <summary>How a <see cref="DapProxy"/> waits and what it accepts. The defaults suit an editor a person drives.</summary>
public sealed class DapProxyOptions
{
    /// <summary>Time for every wait below (tests pass a fake or shorten the waits).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>How long an editor session waits for a new process after its process went away before it is ended with <c>terminated</c>.</summary>
    public TimeSpan BackendWaitTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a request the editor sends while the process is being replaced is held before it is answered with an error.</summary>
    public TimeSpan RequestWaitTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long connecting to a new process's debugpy and replaying the editor's configuration may take.</summary>
    public TimeSpan ReplayTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The largest DAP message body accepted from either side; a bigger one closes that connection.</summary>
    public int MaxMessageBytes { get; init; } = 64 * 1024 * 1024;

    /// <summary>
    /// Present every backend as a child session (<c>startDebugging</c>) even while there is only one, so
    /// processes that appear later join the same editor session (<c>--all</c>). Needs an editor that
    /// supports <c>startDebugging</c>; others get single-process sessions either way.
    /// </summary>
    public bool AllBackends { get; init; }
}
