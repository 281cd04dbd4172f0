namespace Wand.Stacks;

/// <summary>
/// A frame's local as a safe summary read from memory (no <c>repr</c> runs): its type name, a short
/// value for str/int/float/bool/None, a length for containers.
/// </summary>
/// <param name="Value">Short text of the value (strings quoted and cut), "big int" for ints that do not fit 60 bits, or null.</param>
/// <param name="Length">Element count of str/bytes/list/tuple/dict/set/frozenset, or null.</param>
public sealed record LocalVariable(string Name, string Type, string? Value, long? Length);
