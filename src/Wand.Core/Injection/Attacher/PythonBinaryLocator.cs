using Wand.Errors;
using Wand.Transport.Local;

namespace Wand.Injection.Attacher;

/// <summary>
/// Finds <c>_PyRuntime</c> of a process from /proc/PID/maps and the ELF file behind the mapping
/// (../shared/design/PEP768.md, "Finding _PyRuntime"). Reads files only; the process's memory is not touched.
/// </summary>
public static class PythonBinaryLocator
{
    /// <summary>
    /// Finds the Python binary of <paramref name="pid"/>, or null when no python-named mapping holds a
    /// runtime. With <paramref name="thorough"/>, also considers every other mapped ELF file (embedders
    /// such as uWSGI whose binaries do not carry "python" in their name).
    /// </summary>
    public static PythonBinary? Find(int pid, ProcFs procfs, bool thorough = false)
    {
        foreach (var mapping in Candidates(procfs.Maps(pid), thorough))
            if (TryRead(pid, procfs, mapping) is { } found) return found;
        return null;
    }

    /// <summary>
    /// The mapped files that may hold the runtime, in the order to try them: python-named ones
    /// (libpython first: in shared builds the executable has no runtime of its own), then, with
    /// <paramref name="thorough"/>, every other mapped file.
    /// </summary>
    public static IEnumerable<ProcMapsEntry> Candidates(IReadOnlyList<ProcMapsEntry> maps, bool thorough = true)
    {
        var bases = maps.Where(m => m.IsFile && m.Offset == 0).DistinctBy(m => m.Path).ToList();
        var named = bases.Where(m => m.FileName.Contains("python", StringComparison.OrdinalIgnoreCase)).ToList();
        return thorough ? OrderCandidates(named).Concat(bases.Except(named)) : OrderCandidates(named);
    }

    /// <summary>Like <see cref="Find"/>, but throws <see cref="NotPythonException"/> with what was looked at.</summary>
    public static PythonBinary FindOrThrow(int pid, ProcFs procfs)
    {
        if (!procfs.Exists(pid)) throw new ProcessNotFoundException(pid);
        return Find(pid, procfs, thorough: true)
            ?? throw new NotPythonException(pid, $"no mapped file holds a .PyRuntime section; command: {string.Join(' ', procfs.CommandLine(pid)).Trim()}");
    }

    /// <summary>libpython first: in shared builds the executable has no runtime of its own.</summary>
    private static IEnumerable<ProcMapsEntry> OrderCandidates(List<ProcMapsEntry> named) =>
        named.OrderBy(m => m.FileName.StartsWith("libpython", StringComparison.Ordinal) ? 0 : 1);

    private static PythonBinary? TryRead(int pid, ProcFs procfs, ProcMapsEntry mapping)
    {
        foreach (var path in PathsToTry(pid, procfs, mapping))
        {
            try
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 4096);
                return FromElf(stream, mapping, path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ElfFormatException)
            {
                // try the next way to reach the file
            }
        }
        return null;
    }

    /// <summary>
    /// The runtime in the ELF file behind <paramref name="mapping"/>, read from <paramref name="stream"/>
    /// (a local file, or one read through a container's exec): the .PyRuntime section (3.13+) or the
    /// _PyRuntime symbol; null when the file holds none. Throws <see cref="ElfFormatException"/> or IO errors.
    /// </summary>
    public static PythonBinary? FromElf(Stream stream, ProcMapsEntry mapping, string openedPath)
    {
        var elf = ElfImage.Read(stream);
        ulong? address = null;
        PythonVersion? version = null;
        if (elf.Section(".PyRuntime") is { } section)
        {
            address = mapping.Start + section.Address - elf.FirstLoadVaddr;
            if (section.HasFileBytes)
                version = DebugOffsets.ReadVersion(elf.ReadSection(section, 16));
        }
        else if (elf.FindSymbol("_PyRuntime") is { } symbol)
        {
            address = mapping.Start + symbol - elf.FirstLoadVaddr;
        }
        if (address is null) return null; // right file, but no runtime in it
        // Before 3.13 the file has no debug offsets; 3.11+ exports the constant Py_Version.
        if (version is null && elf.FindSymbol("Py_Version", exportedOnly: true) is { } pyVersion
            && elf.ReadVirtual(pyVersion, 4) is { } hex)
            version = PythonVersion.FromHex(System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(hex));
        return new PythonBinary(mapping.Path, openedPath, address.Value, version, VersionFromName(mapping.FileName))
        {
            LoadBias = mapping.Start - elf.FirstLoadVaddr,
        };
    }

    /// <summary>
    /// The maps path is rendered relative to the reader's root: for a chroot seen from the host it is
    /// already the full host path, for another mount namespace it is the container's path. Try the
    /// target's root first, then the path as is, then /proc/PID/exe; prefer a file whose device and
    /// inode match the mapping.
    /// </summary>
    private static IEnumerable<string> PathsToTry(int pid, ProcFs procfs, ProcMapsEntry mapping)
    {
        const string deleted = " (deleted)";
        var path = mapping.Path.EndsWith(deleted, StringComparison.Ordinal) ? mapping.Path[..^deleted.Length] : mapping.Path;
        var candidates = new List<string> { procfs.PathOf(pid, "root") + path, path };
        var exe = procfs.ReadLink(pid, "exe");
        if (exe is not null && (exe == mapping.Path || exe == path)) candidates.Add(procfs.PathOf(pid, "exe"));
        candidates.Add(procfs.PathOf(pid, $"map_files/{mapping.Start:x}-{mapping.End:x}"));

        var matching = candidates.Where(c => Libc.StatDeviceInode(c) is { } st && st.Inode == mapping.Inode
            && Libc.SplitDevice(st.Device) == (mapping.DevMajor, mapping.DevMinor)).ToList();
        return matching.Concat(candidates.Except(matching).Where(File.Exists));
    }

    /// <summary>"3.12" from python3.12, libpython3.12.so.1.0 or python3.12t (no regex: this runs for every process of `wand ps`).</summary>
    public static string? VersionFromName(string fileName)
    {
        var at = fileName.IndexOf("python", StringComparison.Ordinal);
        if (at < 0) return null;
        var rest = fileName.AsSpan(at + "python".Length);
        var major = Digits(rest);
        if (major == 0 || rest.Length <= major || rest[major] != '.') return null;
        var minor = Digits(rest[(major + 1)..]);
        return minor == 0 ? null : rest[..(major + 1 + minor)].ToString();

        static int Digits(ReadOnlySpan<char> s)
        {
            var n = 0;
            while (n < s.Length && char.IsAsciiDigit(s[n])) n++;
            return n;
        }
    }
}
