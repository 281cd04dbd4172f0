namespace Wand.Errors;

/// <summary>
/// A choice the user has, in the library's terms (<see cref="RemedyKind"/> and the facts it needs): an
/// error's way out (<see cref="WandException.Remedy"/>) or the alternative to a step just taken
/// (<see cref="Progress.IProgressReporter.Step(string, Remedy?)"/>). The CLI words it in its own options.
/// </summary>
/// <param name="Pid">The process it is about, as the user knows it, when it is about one.</param>
/// <param name="Names">The names to choose among (containers), when known.</param>
public sealed record Remedy(RemedyKind Kind, int? Pid = null, IReadOnlyList<string>? Names = null);
