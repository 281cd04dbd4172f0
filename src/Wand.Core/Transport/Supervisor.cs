namespace Wand.Transport;

/// <summary>
/// The life of a helper process wand keeps running (kubectl port-forward, the in-pod process watcher):
/// one loop, started on first use, that starts the process again whenever it ends and backs off while
/// it keeps ending quickly; stopping ends the loop and waits for it.
/// </summary>
public sealed class Supervisor(TimeProvider time) : IAsyncDisposable
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(2);

    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private Task? _loop;
    private int _quickEnds;

    /// <summary>Cancelled when stopping.</summary>
    public CancellationToken Token => _stop.Token;

    public bool Stopping => _stop.IsCancellationRequested;

    /// <summary>Starts <paramref name="loop"/> (once; later calls do nothing); false when already stopped.</summary>
    public bool Start(Func<Task> loop)
    {
        lock (_gate)
        {
            if (_stop.IsCancellationRequested) return false;
            _loop ??= Task.Run(loop);
            return true;
        }
    }

    /// <summary>Waits <paramref name="delay"/>, or less when stopping (never throws for that).</summary>
    public async Task DelayAsync(TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, time, _stop.Token);
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    /// <summary>
    /// The process ended after running for <paramref name="lived"/>. Ends within <paramref name="quick"/>
    /// of their start make a series: <paramref name="report"/> is called for the first end of each series
    /// (a pod being replaced refuses several times), and the next start waits 100 ms, doubling up to 2 s.
    /// </summary>
    public async Task EndedAsync(TimeSpan lived, TimeSpan quick, Action report)
    {
        _quickEnds = lived < quick ? _quickEnds + 1 : 0;
        if (_quickEnds <= 1) report();
        if (_quickEnds > 0) await DelayAsync(TimeSpan.FromMilliseconds(Math.Min(MaxBackoff.TotalMilliseconds, 100 * Math.Pow(2, _quickEnds - 1))));
    }

    /// <summary>Ends the loop and waits for it; false when it was already stopped (by another caller).</summary>
    public async Task<bool> StopAsync()
    {
        Task? running;
        lock (_gate)
        {
            if (_stop.IsCancellationRequested) return false;
            _stop.Cancel();
            running = _loop;
        }
        if (running is not null) await running;
        _stop.Dispose();
        return true;
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
