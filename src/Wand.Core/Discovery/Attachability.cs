namespace Wand.Discovery;

/// <summary>Whether wand can attach to a process, with a one-line reason meant for the user.</summary>
public sealed record Attachability(AttachState State, string Reason)
{
    public bool CanAttach => State == AttachState.Attachable;
}
