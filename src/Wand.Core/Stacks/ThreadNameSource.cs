namespace Wand.Stacks;

/// <summary>Where a thread's name came from.</summary>
public enum ThreadNameSource
{
    /// <summary>The kernel's thread name (comm) was set for this thread: Python 3.14+ sets it from threading.Thread.name.</summary>
    Thread,
    /// <summary>The thread's comm is the process name (the main thread, or a Python before 3.14 that does not name OS threads).</summary>
    Process,
    /// <summary>/proc had no name for it (the thread ended).</summary>
    None,
}
