namespace Wand.Tests.EndToEnd.Infrastructure;

/// <summary>
/// Sends requests to an app without pause until stopped, counting what was served and what failed:
/// the proof that attaching, injecting and detaching never make the application stop serving.
/// </summary>
public sealed class HttpLoad : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _served;
    private int _failed;

    public HttpLoad(HttpClient http, string path)
    {
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    (await http.GetAsync(path)).EnsureSuccessStatusCode();
                    Interlocked.Increment(ref _served);
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref _failed);
                }
            }
        });
    }

    /// <summary>
    /// Waits until the app has served a few more requests from now on: it serves on after whatever the
    /// test just did (a stop, an exec), rather than only before it.
    /// </summary>
    public Task ServesOnAsync(string after)
    {
        var from = Volatile.Read(ref _served);
        return Eventually.TrueAsync(() => Volatile.Read(ref _served) >= from + 3, TimeSpan.FromSeconds(30),
            $"the app to serve requests after {after}", () => $"served {Volatile.Read(ref _served) - from}, failed {Volatile.Read(ref _failed)}");
    }

    /// <summary>Stops sending and returns the counts.</summary>
    public async Task<(int Served, int Failed)> StopAsync()
    {
        _stop.Cancel();
        await _loop;
        return (_served, _failed);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested) await StopAsync();
        _stop.Dispose();
    }
}
