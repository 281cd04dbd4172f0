namespace Wand.Discovery;

/// <summary>The role the <see cref="RoleClassifier"/> gave a process, with a short description ("uvicorn worker of 1234").</summary>
public sealed record RoleAssignment(ProcessRole Role, string? Detail);
