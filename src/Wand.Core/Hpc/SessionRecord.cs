namespace Wand.Hpc;

/// <summary>
/// What <c>rdg debug</c> (and <c>rdg attach</c>) record about a debuggable program, so that
/// <c>rdg attach</c>, <c>rdg tunnel</c> and <c>rdg init --from-session</c> never need a PID or port typed by hand.
/// Stored as JSON (camelCase) in <see cref="SessionStore"/>.
/// </summary>
/// <param name="Mode">debug (waits for the editor), lite (armed, nothing loaded), post-mortem (crashed, waiting), attached (zero-prep).</param>
/// <param name="State">listening (debugpy accepts editors at Node:Port) or armed (lite: nothing listens yet).</param>
/// <param name="Node">The host name the login node reaches debugpy at.</param>
/// <param name="ListenHost">The address debugpy is bound to.</param>
/// <param name="Control">Lite mode: the FIFO that activates the debugger.</param>
/// <param name="Login">user@login for the tunnel, when known.</param>
public sealed record SessionRecord(
    string? JobId,
    int Pid,
    string Mode,
    string State,
    string Node,
    string? ListenHost,
    int? Port,
    int LocalPort,
    string RemotePath,
    string? Python,
    string? Control,
    string? Login,
    int? Rank,
    DateTimeOffset StartedAt)
{
    /// <summary>The file name inside the store: one record per process.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string FileName => $"{(JobId is { Length: > 0 } j ? j : Node)}-{Pid}.json";

    public string Describe() =>
        $"{(JobId is null ? "" : $"job {JobId}, ")}PID {Pid} on {Node}, {Mode}" + (Port is { } p ? $", port {p}" : "") + $", {RemotePath}";
}
