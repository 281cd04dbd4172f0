namespace Wand.Injection.Attacher;

/// <summary>A section header: name, virtual address (<c>sh_addr</c>), file offset and size.</summary>
public sealed record ElfSection(string Name, uint Type, ulong Address, ulong Offset, ulong Size)
{
    /// <summary>SHT_NOBITS (.bss): occupies no bytes in the file.</summary>
    public bool HasFileBytes => Type != 8;
}
