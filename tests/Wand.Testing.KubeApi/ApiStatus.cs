using System.Text.Json.Nodes;

namespace Wand.Testing.KubeApi;

/// <summary>
/// metav1.Status, the API server's error body: kubectl prints "Error from server (REASON): MESSAGE" from it
/// and exits 1, so wand sees kubectl's own words.
/// </summary>
internal static class ApiStatus
{
    public static JsonObject Failure(int code, string reason, string message, JsonObject? details = null) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["details"] = details ?? new JsonObject(),
        ["code"] = code,
    };

    public static JsonObject NotFound(string resource, string name) =>
        Failure(404, "NotFound", $"{resource} \"{name}\" not found", new JsonObject { ["name"] = name, ["kind"] = resource });

    public static JsonObject BadRequest(string message) => Failure(400, "BadRequest", message);

    /// <summary>What the exec error channel carries when the command ended (kubelet's wording; kubectl exits with the code).</summary>
    public static JsonObject ExitStatus(int exitCode, IReadOnlyList<string> command) => exitCode == 0
        ? new JsonObject { ["metadata"] = new JsonObject(), ["status"] = "Success" }
        : new JsonObject
        {
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = $"command terminated with non-zero exit code: error executing command [{string.Join(' ', command)}], exit code {exitCode}",
            ["reason"] = "NonZeroExitCode",
            ["details"] = new JsonObject { ["causes"] = new JsonArray(new JsonObject { ["reason"] = "ExitCode", ["message"] = exitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) }) },
        };
}
