namespace Wand.Injection.Attacher;

/// <summary>Thrown when a file is not a well-formed 64-bit little-endian ELF object.</summary>
public sealed class ElfFormatException(string message) : Exception(message);
