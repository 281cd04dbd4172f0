using System.Text.Json;
using Wand.Errors;

namespace Wand.Transport.Containers;

/// <summary>
/// Finds a container by name or ID through the runtime's CLI. Without an explicit runtime it asks
/// every installed one and never silently prefers one: two that both know the name is an error.
/// </summary>
public sealed class ContainerLocator(IReadOnlyList<ContainerRuntime>? runtimes = null)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly IReadOnlyList<ContainerRuntime> _runtimes = runtimes ?? [ContainerRuntime.Podman, ContainerRuntime.Docker];

    public static string Program(ContainerRuntime runtime) => runtime.ToString().ToLowerInvariant();

    public async Task<ContainerInfo> FindAsync(string nameOrId, CancellationToken cancellationToken)
    {
        var found = new List<ContainerInfo>();
        var installed = new List<ContainerRuntime>();
        var failures = new List<string>();
        // Every runtime is asked at once: one after the other, a docker client without its daemon added its
        // whole answer time to every podman attach.
        var answers = await Task.WhenAll(_runtimes.Select(async runtime =>
        {
            try
            {
                return (runtime, Result: (ProcessResult?)await ProcessRunner.RunAsync(Program(runtime), ["inspect", "--type", "container", "--format", "json", nameOrId], null, Timeout, cancellationToken));
            }
            catch (ProcessRunner.NotInstalledException)
            {
                return (runtime, Result: (ProcessResult?)null);
            }
        }));
        foreach (var (runtime, answer) in answers)
        {
            if (answer is not { } r) continue;
            installed.Add(runtime);
            if (r.Ok && Parse(runtime, r.Stdout) is { } info) found.Add(info);
            else if (!r.Stderr.Contains("no such", StringComparison.OrdinalIgnoreCase)) failures.Add($"{Program(runtime)}: {r.Stderr.Trim()}");
        }
        if (installed.Count == 0)
            throw new NoContainerRuntimeException([.. _runtimes.Select(Program)]);
        if (found.Count > 1)
            throw new AmbiguousContainerRuntimeException(nameOrId, [.. found.Select(f => f.RuntimeName)]);
        if (found.Count == 1) return found[0];
        // A runtime that cannot answer (docker's client without its daemon) does not hide the others' answer.
        throw new ContainerNotFoundException(nameOrId, await RunningAsync(installed, cancellationToken), failures);
    }

    /// <summary>Names of the running containers of the given runtimes, for error messages.</summary>
    public static async Task<IReadOnlyList<string>> RunningAsync(IEnumerable<ContainerRuntime> runtimes, CancellationToken cancellationToken)
    {
        var names = new List<string>();
        foreach (var runtime in runtimes)
        {
            var r = await ProcessRunner.RunAsync(Program(runtime), ["ps", "--format", "{{.Names}}"], null, Timeout, cancellationToken);
            if (r.Ok) names.AddRange(r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(n => $"{n} ({Program(runtime)})"));
        }
        return names;
    }

    /// <summary>Parses <c>inspect --format json</c> (podman and docker print the same array shape).</summary>
    public static ContainerInfo? Parse(ContainerRuntime runtime, string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Array || doc.RootElement.GetArrayLength() == 0) return null;
            var c = doc.RootElement[0];
            var state = c.GetProperty("State");
            return new ContainerInfo(runtime, c.GetProperty("Id").GetString() ?? "", (c.GetProperty("Name").GetString() ?? "").TrimStart('/'),
                state.GetProperty("Running").GetBoolean(), state.TryGetProperty("Status", out var s) ? s.GetString() ?? "" : "",
                state.TryGetProperty("Pid", out var pid) ? pid.GetInt32() : 0,
                c.TryGetProperty("Path", out var path) ? path.GetString() ?? "" : "");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }
}
