using System.Diagnostics;
using Wand.Testing;

namespace Wand.Session.Dap;

/// <summary>
/// Issue 15 item 4's measure, shared by the end-to-end test and the benchmark: after a reload, is the first
/// request the new worker serves stopped at the editor's breakpoint? The request is sent the moment the new
/// worker process exists (it waits in the listening socket the reloader or master keeps), so it is the first
/// one the worker serves; it counts only if the editor stops in it, in that worker, before it is answered.
/// </summary>
public static class FirstRequestProbe
{
    /// <summary>What one reload gave.</summary>
    /// <param name="Worker">The new worker's PID.</param>
    /// <param name="Stopped">The first request stopped at the breakpoint in <paramref name="Worker"/>.</param>
    /// <param name="Detail">What happened instead, when it did not.</param>
    /// <param name="Seen">From the trigger until the new worker process was seen.</param>
    /// <param name="Answered">From then (the request sent) until the editor stopped in it, or it was answered unstopped.</param>
    public sealed record Outcome(int Worker, bool Stopped, string Detail, TimeSpan Seen, TimeSpan Answered);

    /// <summary>
    /// One reload: <paramref name="trigger"/> brings a new worker about; once <paramref name="parent"/> has a
    /// Python child other than <paramref name="oldWorker"/>, <paramref name="request"/> is sent and either the
    /// editor stops in it (it is then continued) or it is answered unstopped.
    /// </summary>
    public static async Task<Outcome> OneReloadAsync(DapClient editor, int parent, int oldWorker, Func<Task> trigger, Func<Task<string>> request, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(editor);
        ArgumentNullException.ThrowIfNull(trigger);
        ArgumentNullException.ThrowIfNull(request);
        var clock = Stopwatch.StartNew();
        await trigger();
        var worker = 0;
        await Eventually.TrueAsync(() => (worker = WorkerOf(parent, except: oldWorker)) > 0, timeout, $"a new worker of PID {parent} (after {oldWorker})",
            interval: TimeSpan.FromMilliseconds(2));
        var seen = clock.Elapsed;
        var response = request();
        using var stopWaiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var stopped = editor.WaitForStoppedAsync(timeout, stopWaiting.Token);
        if (await Task.WhenAny(response, stopped) == response && !stopped.IsCompletedSuccessfully)
        {
            await stopWaiting.CancelAsync();
            try
            {
                await stopped;
            }
            catch (OperationCanceledException)
            {
            }
            var answer = response.IsCompletedSuccessfully ? $"answered unstopped: {response.Result}" : $"failed: {response.Exception?.InnerException?.Message}";
            return new Outcome(worker, false, answer, seen, clock.Elapsed - seen);
        }
        var thread = (await stopped).ThreadId;
        var answered = clock.Elapsed - seen;
        var frame = (await editor.StackTraceAsync(thread, cancellationToken))[0];
        var pid = await editor.EvaluateAsync("__import__('os').getpid()", frame.Id, cancellationToken: cancellationToken);
        await editor.ContinueAsync(thread, cancellationToken);
        await response.WaitAsync(timeout, cancellationToken);
        var inWorker = pid == worker.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new Outcome(worker, inWorker, inWorker ? "" : $"stopped in {frame.Name} of PID {pid}, not the new worker", seen, answered);
    }

    /// <summary>
    /// A Python child of <paramref name="parent"/> other than <paramref name="except"/> (0: none): its worker.
    /// multiprocessing's resource tracker, a child of uvicorn's reloader too, is none.
    /// </summary>
    public static int WorkerOf(int parent, int except = 0)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == except) continue;
            try
            {
                // /proc/PID/stat: "pid (comm) state ppid ...", comm may hold spaces and parentheses.
                var stat = File.ReadAllText($"{dir}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[1] != parent.ToString(System.Globalization.CultureInfo.InvariantCulture)) continue;
                var commandLine = File.ReadAllText($"{dir}/cmdline");
                if (!commandLine.Contains("resource_tracker", StringComparison.Ordinal)) return pid;
            }
            catch (IOException)
            {
            }
        }
        return 0;
    }
}
