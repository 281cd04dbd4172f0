namespace Wand.Transport.Exec;

/// <summary>
/// The next injection's exec, started before it is asked for: when a pod session moves to a replacement
/// pod, the injection that follows runs the same command as the last one (<c>kubectl exec -i POD -c C --
/// /proc/PID/exe -I -S -c BOOT</c>, the replacement's app has the PID its predecessor had), so it is started
/// at once in the new pod, while the new pod's processes are listed. The injection then writes its request
/// into a process that is already up (kubectl connected, the API server's exec made, the interpreter
/// started: about half a second of an exec's time), and the agent reads its one line whenever it comes
/// (Payload.AgentBoot). One that is not taken within <see cref="Lifetime"/>, or asked for with another
/// command or in another place, is killed: nothing runs there for long.
/// </summary>
public sealed class PrestartedExec(IExecTarget target, TimeProvider time) : IDisposable
{
    /// <summary>How long a started exec waits to be taken (the listing and the choice of the process come first).</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    private readonly Lock _gate = new();
    private IReadOnlyList<string>? _lastCommand;
    private Spare? _spare;
    private bool _disposed;

    /// <summary>How many started execs were taken (for tests and diagnostics).</summary>
    public int Taken { get; private set; }

    /// <summary>
    /// The exec started for <paramref name="command"/> in the target's current place, if there is one (the
    /// caller writes its stdin and disposes it); null: start one. Remembers <paramref name="command"/> as the
    /// one to start ahead next time.
    /// </summary>
    public ChildProcess? Take(IReadOnlyList<string> command)
    {
        Spare? spare;
        lock (_gate)
        {
            _lastCommand = [.. command];
            spare = _spare;
            _spare = null;
        }
        if (spare is null) return null;
        spare.Expiry.Dispose();
        if (spare.Place == target.Description && spare.Command.SequenceEqual(command, StringComparer.Ordinal) && !spare.Process.HasExited)
        {
            Taken++;
            return spare.Process;
        }
        spare.Process.Dispose();
        return null;
    }

    /// <summary>Starts the last command taken (or asked for) again, in the place the target names now; nothing before the first.</summary>
    public void Prestart()
    {
        Spare? old;
        lock (_gate)
        {
            old = _spare;
            _spare = null;
            if (_disposed || _lastCommand is not { } command) return;
            ChildProcess process;
            try
            {
                process = ProcessRunner.Start(target.Program, target.ExecArguments(command), new ChildProcessOptions { RedirectInput = true });
            }
            catch (ProcessRunner.NotInstalledException)
            {
                return; // the injection will say so
            }
            var spare = _spare = new Spare(target.Description, command, process, new CancellationTokenSource(Lifetime, time));
            spare.Expiry.Token.Register(() => Drop(spare));
        }
        Dispose(old);
    }

    public void Dispose()
    {
        Spare? spare;
        lock (_gate)
        {
            _disposed = true;
            spare = _spare;
            _spare = null;
        }
        Dispose(spare);
    }

    /// <summary>Kills <paramref name="spare"/> if it is still the one waiting (its lifetime is over).</summary>
    private void Drop(Spare spare)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(_spare, spare)) return;
            _spare = null;
        }
        spare.Process.Dispose();
    }

    private static void Dispose(Spare? spare)
    {
        if (spare is null) return;
        spare.Expiry.Dispose();
        spare.Process.Dispose();
    }

    private sealed record Spare(string Place, IReadOnlyList<string> Command, ChildProcess Process, CancellationTokenSource Expiry);
}
