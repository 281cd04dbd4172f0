using System.Text.Json.Nodes;

namespace Wand.Session.Proxy;

/// <summary>
/// What a <see cref="LinkSupervisor"/> reports to its editor connection. Each is called from a link's read
/// loop, a connect task or a timer, so an implementation only posts the work to its own queue.
/// </summary>
internal interface ILinkObserver
{
    /// <summary>An event, a reverse request, or the response to the editor's <paramref name="request"/>.</summary>
    void OnMessage(BackendLink link, JsonObject message, BackendLink.EditorRequest? request);

    /// <summary>The link's connection ended or broke.</summary>
    void OnClosed(BackendLink link, string reason);

    /// <summary>A replayed <c>setBreakpoints</c> was answered (see <see cref="BackendLink"/>'s constructor).</summary>
    void OnReplayedBreakpoints(BackendLink link, JsonObject arguments, JsonObject body);

    /// <summary>The link is connected and replayed; <paramref name="capabilities"/> is the replayed <c>initialize</c> answer, if any.</summary>
    void OnReady(BackendLink link, JsonObject? capabilities, ReplayKind kind);

    /// <summary>Connecting or replaying failed (or took longer than <see cref="DapProxyOptions.ReplayTimeout"/>).</summary>
    void OnFailed(BackendLink link, string why);

    /// <summary>The wait for a backend started with <paramref name="epoch"/> ran out (see <see cref="LinkSupervisor.IsWaiting"/>).</summary>
    void OnWaitExpired(long epoch, string reason);
}
