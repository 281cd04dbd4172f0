namespace Wand.Errors;

/// <summary>
/// What the user can do, named by what it does rather than by the option or command that does it: the
/// library knows the facts, wand's and rdg's command lines say which of their options or commands does it
/// (Wand.Cli's ErrorWording), so no option name is spelled in two places or goes stale in the library.
/// </summary>
public enum RemedyKind
{
    /// <summary>List the machine's Python processes and whether each can be attached.</summary>
    ListProcesses,

    /// <summary>Report a bug with the process listing as JSON.</summary>
    ReportWithProcessListing,

    /// <summary>Start the program under rdg's launcher, which debugs any Python 3.8+ from its start.</summary>
    StartUnderLauncher,

    /// <summary>Run code in the process instead: it needs no debugger thread.</summary>
    RunCodeInstead,

    /// <summary>Name the pods directly: by a label selector or by name.</summary>
    NamePods,

    /// <summary>Name the pod's container (<see cref="Remedy.Names"/>: the candidates, when known).</summary>
    NameContainer,

    /// <summary>Debug <see cref="Remedy.Pid"/> alone, not the processes it stands for or serves beside.</summary>
    DebugOnlyThis,

    /// <summary>Run rdg where Slurm's commands are: the cluster's login node.</summary>
    RunOnLoginNode,

    /// <summary>Write the editor's launch configurations again once the file is fixed.</summary>
    WriteLaunchConfigAgain,

    /// <summary>Give the program to debug as a Python command line (the form the launcher takes).</summary>
    GiveProgramCommand,
}
