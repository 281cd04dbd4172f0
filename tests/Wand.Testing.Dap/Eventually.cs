namespace Wand.Testing;

/// <summary>
/// The one way tests wait: poll a condition until a deadline, and fail with what was awaited when it
/// never holds (a test never carries on silently, and never sleeps a fixed time hoping it is enough).
/// </summary>
public static class Eventually
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    /// <summary>Waits until <paramref name="condition"/> holds; throws <see cref="TimeoutException"/> naming <paramref name="what"/> otherwise.</summary>
    /// <param name="interval">Between two looks (20 ms); a benchmark that times the moment the condition holds looks more often.</param>
    public static Task TrueAsync(Func<bool> condition, TimeSpan timeout, string what, Func<string>? detail = null, TimeSpan? interval = null) =>
        TrueAsync(() => Task.FromResult(condition()), timeout, what, detail, interval);

    /// <summary>Waits until the asynchronous <paramref name="condition"/> holds; throws naming <paramref name="what"/> otherwise.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, Func<string>? detail = null, TimeSpan? interval = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"waited {timeout.TotalSeconds} s for {what}" + (detail is null ? "" : ": " + detail()));
            await Task.Delay(interval ?? Interval);
        }
    }
}
