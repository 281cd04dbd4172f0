using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Wand.Testing.KubeApi;

/// <summary>The podman CLI behind the pods (argv only).</summary>
internal static class Podman
{
    public static ProcessStartInfo StartInfo(IEnumerable<string> args, bool stdin)
    {
        var psi = new ProcessStartInfo("podman") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(IEnumerable<string> args, CancellationToken cancellationToken = default)
    {
        using var p = Process.Start(StartInfo(args, stdin: false))!;
        var stdout = p.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = p.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await p.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromMinutes(1), cancellationToken);
        }
        catch
        {
            p.Kill(entireProcessTree: true);
            throw;
        }
        return (p.ExitCode, await stdout, await stderr);
    }

    /// <summary>`podman inspect` of the named containers, by name; missing ones are left out.</summary>
    public static async Task<Dictionary<string, JsonObject>> InspectAsync(IReadOnlyCollection<string> names)
    {
        if (names.Count == 0) return [];
        var r = await RunAsync(["inspect", "--type", "container", .. names]);
        var found = new Dictionary<string, JsonObject>();
        try
        {
            if (JsonNode.Parse(r.Stdout.Length == 0 ? "[]" : r.Stdout) is JsonArray all)
                foreach (var c in all.OfType<JsonObject>())
                    found[c["Name"]!.GetValue<string>()] = c;
        }
        catch (System.Text.Json.JsonException)
        {
            // podman printed nothing usable (all gone): no container is running
        }
        return found;
    }
}
