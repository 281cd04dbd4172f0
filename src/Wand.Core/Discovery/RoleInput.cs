namespace Wand.Discovery;

/// <summary>What the <see cref="RoleClassifier"/> knows about one process.</summary>
/// <param name="IsPython">False for non-Python parents (tini, sh -c, uv run) given only for context: they never get a role.</param>
/// <param name="EnvironmentMarkers">
/// Which of <see cref="RoleClassifier.ReloaderEnvironmentVariables"/> are set to "true" in the process
/// (Django sets RUN_MAIN, werkzeug WERKZEUG_RUN_MAIN in the child it re-executes); null when the
/// environment could not be read. Only a hint: the structure of the process tree decides first.
/// </param>
public sealed record RoleInput(int Pid, int ParentPid, IReadOnlyList<string> CommandLine, bool IsPython = true, IReadOnlySet<string>? EnvironmentMarkers = null);
