namespace Wand.Tests.EndToEnd.Infrastructure;

/// <summary>Waits for a condition, failing with what it waited for.</summary>
public static class Poll
{
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited {timeout.TotalSeconds} s for {what}");
            await Task.Delay(20);
        }
    }
}
