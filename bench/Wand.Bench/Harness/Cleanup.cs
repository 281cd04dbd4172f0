namespace Wand.Bench.Harness;

/// <summary>Ends whatever this run started and did not end yet: targets, wand processes, debugpy adapters.</summary>
public static class Cleanup
{
    private static int _done;

    /// <summary>Runs once (normal end, signal or process exit, whichever comes first).</summary>
    public static void Run()
    {
        if (Interlocked.Exchange(ref _done, 1) != 0) return;
        Child.KillAll();
        Adapters.KillAll();
        // An adapter whose target was killed while listen() was starting may appear a moment later.
        Thread.Sleep(100);
        Adapters.KillAll();
    }
}
