namespace Wand.Hpc;

/// <summary>How <c>rdg debug</c> runs the program (see rdg_launcher.py for what each mode does).</summary>
/// <param name="Mode">"debug" (listen before the program starts), "lite" (armed, nothing loaded) or "post-mortem" (nothing until a crash).</param>
/// <param name="Port">The port to listen on; null: <see cref="RdgDefaults.Port"/> when free, else a free one.</param>
/// <param name="DebugpyPath">A debugpy package folder to lend when the program's Python has none.</param>
/// <param name="ChildRank">For an agent that spawns the ranks (<see cref="ProgramCommand.SpawnsRanks"/>): the rank whose process gets the debugger.</param>
public sealed record LaunchOptions(
    string Mode,
    bool PostMortem,
    bool Wait,
    bool StopOnEntry,
    string Host,
    int? Port,
    TimeSpan PostMortemTimeout,
    string? DebugpyPath,
    int ChildRank = 0);
