using System.Diagnostics;

namespace Wand.Testing.KubeApi;

/// <summary>
/// Wakes the watch loop when the cluster may have changed: a file under the state folder (a test wrote
/// or deleted a pod) or a podman container event (started, died, removed). Reading podman is not free
/// on a small machine, so watches read it on these signals, and every 2 s at most otherwise.
/// </summary>
internal sealed class ChangeNotifier : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0);
    private readonly FileSystemWatcher _files;
    private readonly Process? _events;

    public ChangeNotifier(string root)
    {
        _files = new FileSystemWatcher(root) { IncludeSubdirectories = true };
        _files.Changed += (_, _) => Poke();
        _files.Created += (_, _) => Poke();
        _files.Deleted += (_, _) => Poke();
        _files.Renamed += (_, _) => Poke();
        _files.EnableRaisingEvents = true;
        try
        {
            _events = Process.Start(Podman.StartInfo(["events", "--filter", "type=container", "--format", "{{.Status}}"], stdin: false));
            _ = Task.Run(async () =>
            {
                while (await _events!.StandardOutput.ReadLineAsync() is not null) Poke();
            });
            _ = _events!.StandardError.ReadToEndAsync();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            _events = null; // no podman: the 2 s reads still see files
        }
    }

    /// <summary>Until the next signal (or <paramref name="atMost"/>); signals that came meanwhile count as one.</summary>
    public async Task WaitAsync(TimeSpan atMost, CancellationToken cancellationToken)
    {
        await _signal.WaitAsync(atMost, cancellationToken);
        while (_signal.Wait(0))
        {
            // drained
        }
    }

    public void Dispose()
    {
        _files.Dispose();
        if (_events is { HasExited: false }) _events.Kill();
        _events?.Dispose();
    }

    private void Poke() => _signal.Release();
}
