using System.Text.Json;

namespace Wand.Transport.Kubernetes;

/// <summary>
/// A container's livenessProbe (<c>spec.containers[].livenessProbe</c>): the kubelet restarts the
/// container after <see cref="FailureThreshold"/> failed checks <see cref="PeriodSeconds"/> apart,
/// whatever wand does inside, so a breakpoint held longer than that ends the session.
/// </summary>
/// <param name="Check">What is checked, as a user would name it ("httpGet /healthz on port 8000").</param>
/// <param name="AnswersWhilePaused">True for tcpSocket: the kernel completes connections to a listening socket (its backlog) while the process is stopped.</param>
public sealed record LivenessProbe(string Check, int PeriodSeconds, int FailureThreshold, bool AnswersWhilePaused)
{
    /// <summary>Seconds until the restart once every check fails.</summary>
    public int RestartAfterSeconds => PeriodSeconds * FailureThreshold;

    /// <summary>The warning for a session in <paramref name="container"/>, or null when a paused process still passes the probe.</summary>
    public string? PauseWarning(string container) => AnswersWhilePaused ? null :
        $"a breakpoint held longer than about {RestartAfterSeconds} s restarts container {container} (livenessProbe {Check}, every {PeriodSeconds} s, {FailureThreshold} failures); " +
        "raise the probe's failureThreshold while debugging, or continue within that time";

    /// <summary>Parses a probe; missing fields take Kubernetes' defaults (periodSeconds 10, failureThreshold 3).</summary>
    public static LivenessProbe Parse(JsonElement probe)
    {
        static int Int(JsonElement e, string name, int fallback) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : fallback;
        static string Port(JsonElement handler) => handler.TryGetProperty("port", out var p) ? p.ToString() : "?";
        var check = probe.TryGetProperty("httpGet", out var http) ? $"httpGet {(http.TryGetProperty("path", out var path) ? path.GetString() : "/")} on port {Port(http)}"
            : probe.TryGetProperty("grpc", out var grpc) ? $"grpc on port {Port(grpc)}"
            : probe.TryGetProperty("tcpSocket", out var tcp) ? $"tcpSocket on port {Port(tcp)}"
            : probe.TryGetProperty("exec", out var exec) && exec.TryGetProperty("command", out var command)
                ? $"exec {string.Join(' ', command.EnumerateArray().Select(a => a.GetString()))}"
                : "exec";
        return new LivenessProbe(check, Int(probe, "periodSeconds", 10), Int(probe, "failureThreshold", 3), probe.TryGetProperty("tcpSocket", out _));
    }
}
