using Wand.Errors;
using Wand.Injection.Attacher;
using Wand.Injection.Ptrace;
using Wand.Transport.Local;

namespace Wand.Injection;

/// <summary>Chooses how to get into a process from the version of its interpreter.</summary>
public static class ScriptInjectors
{
    /// <summary>
    /// PEP 768 for 3.14+; Py_AddPendingCall through ptrace for 3.9-3.13 and for runtimes whose file
    /// has no debug offsets and no Py_Version (3.9, 3.10 under a name that does not say).
    /// </summary>
    public static IScriptInjector Open(int pid, ProcFs procfs, TimeProvider time)
    {
        var binary = PythonBinaryLocator.FindOrThrow(pid, procfs);
        if (UsesPendingCall(binary)) return PendingCallTarget.Open(pid, procfs, time, binary);
        var target = Pep768Target.Open(pid, procfs, time, binary);
        if (!target.RemoteDebuggingEnabled)
        {
            target.Dispose();
            throw new RemoteDebugDisabledException(pid);
        }
        return target;
    }

    /// <summary>True when <paramref name="binary"/> is older than 3.14 (or has no version cookie, which 3.13+ always has).</summary>
    public static bool UsesPendingCall(PythonBinary binary) =>
        binary.Version is null ? binary.MajorMinor is not { } m || m.CompareTo((3, 14)) < 0 : binary.Version.Major == 3 && binary.Version.Minor < 14;
}
