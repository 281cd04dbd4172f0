using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Wand.Transport.Kubernetes;

/// <summary>
/// The pods of a label selector (or one pod by name) through the user's kubectl: listed with
/// <c>kubectl get pods -l SELECTOR -o json</c>, watched with one long-lived
/// <c>kubectl get pods -l SELECTOR -o json --watch --output-watch-events</c> (a pod by name:
/// <c>kubectl get pods NAME -o json --watch --output-watch-events</c>), which prints the pods now as
/// ADDED events and then every change as {"type": ..., "object": POD}, one indented document each.
/// </summary>
/// <param name="selector">The label selector, or null with <paramref name="name"/>.</param>
public sealed class KubectlPodEvents(KubectlClient kubectl, string? selector, string? name) : IPodEventSource
{
    public async Task<IReadOnlyList<PodInfo>> ListAsync(CancellationToken cancellationToken)
    {
        var finder = new PodFinder(kubectl);
        return name is not null ? [await finder.ByNameAsync(name, cancellationToken)] : await finder.BySelectorAsync(selector ?? "", cancellationToken);
    }

    /// <summary>The argv after kubectl for the watch.</summary>
    public IReadOnlyList<string> WatchArguments() =>
        kubectl.Arguments(["get", "pods", .. name is not null ? new[] { name } : ["-l", selector ?? ""], "-o", "json", "--watch", "--output-watch-events"]);

    public async IAsyncEnumerable<PodEvent> WatchAsync(Action<string> ended, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ChildProcess process;
        try
        {
            process = ProcessRunner.Start(KubectlClient.Program, WatchArguments());
        }
        catch (ProcessRunner.NotInstalledException e)
        {
            ended(e.Message);
            yield break;
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            // Ending kubectl ends the read below (end of its output) wherever it waits.
            using var stop = cancellationToken.Register(process.Kill);
            var splitter = new JsonDocumentSplitter();
            var buffer = new char[16 * 1024];
            try
            {
                while (true)
                {
                    int read;
                    try
                    {
                        read = await process.StandardOutput.ReadAsync(buffer, cancellationToken);
                    }
                    catch (IOException e)
                    {
                        ended(e.Message);
                        yield break;
                    }
                    if (read == 0) break;
                    cancellationToken.ThrowIfCancellationRequested();
                    foreach (var document in splitter.Feed(buffer.AsSpan(0, read)))
                        if (Parse(document) is { } e) yield return e;
                }
                await process.WaitForExitAsync(cancellationToken);
                ended(KubectlClient.OwnMessage(await stderr) is { Length: > 0 } why ? why : $"exit {process.ExitCode}");
            }
            finally
            {
                process.Kill();
            }
        }
    }

    /// <summary>
    /// One printed document as an event: {"type", "object"} (ERROR's object is a Status, and BOOKMARK
    /// carries no pod: both are skipped); a bare Pod (a kubectl without --output-watch-events) is MODIFIED.
    /// </summary>
    public static PodEvent? Parse(string document)
    {
        try
        {
            using var doc = JsonDocument.Parse(document);
            var root = doc.RootElement;
            if (root.TryGetProperty("type", out var type) && root.TryGetProperty("object", out var obj))
                return type.GetString() is PodEvent.Added or PodEvent.Modified or PodEvent.Deleted && obj.TryGetProperty("metadata", out _)
                    && (!obj.TryGetProperty("kind", out var kind) || kind.GetString() == "Pod")
                    ? new PodEvent(type.GetString()!, PodInfo.Parse(obj))
                    : null;
            return root.TryGetProperty("metadata", out _) ? new PodEvent(PodEvent.Modified, PodInfo.Parse(root)) : null;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}
