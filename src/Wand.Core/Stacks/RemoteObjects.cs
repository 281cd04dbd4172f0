using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Wand.Errors;
using Wand.Transport.Local;

namespace Wand.Stacks;

/// <summary>
/// Reads Python objects out of the target's memory through <see cref="IProcessMemory"/>: type names,
/// str, bytes and safe summaries of locals. Every length read from the target is capped before it
/// sizes a read; values that cannot be right throw <see cref="StackReadException"/>; unreadable
/// addresses throw <see cref="MemoryAccessException"/> (the caller decides what that means).
/// </summary>
internal sealed class RemoteObjects(IProcessMemory memory, StackOffsets offsets)
{
    // Fast subclass bits of tp_flags (Include/object.h); stable since Python 2.
    private const ulong LongSubclass = 1UL << 24;
    private const ulong ListSubclass = 1UL << 25;
    private const ulong TupleSubclass = 1UL << 26;
    private const ulong BytesSubclass = 1UL << 27;
    private const ulong UnicodeSubclass = 1UL << 28;
    private const ulong DictSubclass = 1UL << 29;

    /// <summary>PyDictObject.ma_used follows PyObject_HEAD (Include/cpython/dictobject.h, 3.13-3.15); not in the table.</summary>
    private const ulong DictUsed = 16;
    /// <summary>PyCellObject.ob_ref follows PyObject_HEAD (Include/cpython/cellobject.h).</summary>
    private const ulong CellRef = 16;

    private const int MaxTypeName = 200;
    private const int MaxValueChars = 40;
    private const long MaxSaneLength = 1L << 48;

    private readonly Dictionary<ulong, string> _typeNames = [];

    public IProcessMemory Memory => memory;

    /// <summary>User-space addresses only: anything else is garbage read from a changing or corrupt heap.</summary>
    public static bool Plausible(ulong address) => address >= 4096 && address < (1UL << 57);

    public ulong Pointer(ulong address) => memory.ReadU64(address);

    public byte[] Block(ulong address, ulong size)
    {
        if (!Plausible(address)) throw new StackReadException($"pointer 0x{address:x} is not a user-space address");
        if (size > 1 << 20) throw new StackReadException($"refusing to read {size} bytes at 0x{address:x}");
        var b = new byte[size];
        memory.Read(address, b);
        return b;
    }

    public ulong TypeOf(ulong obj) => CheckedPointer(obj + offsets.ObType);

    /// <summary>tp_name of a type object (a C string), cached by type address.</summary>
    public string TypeName(ulong type)
    {
        if (_typeNames.TryGetValue(type, out var name)) return name;
        name = CString(CheckedPointer(type + offsets.TypeName), MaxTypeName);
        _typeNames[type] = name;
        return name;
    }

    public ulong TypeFlags(ulong type) => memory.ReadU64(type + offsets.TypeFlags);

    /// <summary>The text of a str object, at most <paramref name="maxChars"/> characters; throws if it is not a str.</summary>
    public string String(ulong obj, int maxChars)
    {
        if ((TypeFlags(TypeOf(obj)) & UnicodeSubclass) == 0) throw new StackReadException($"object at 0x{obj:x} is not a str");
        return StringData(obj, maxChars, out _);
    }

    /// <summary>The bytes of a bytes object, at most <paramref name="maxBytes"/>; throws if it is not a bytes object.</summary>
    public byte[] Bytes(ulong obj, int maxBytes)
    {
        if ((TypeFlags(TypeOf(obj)) & BytesSubclass) == 0) throw new StackReadException($"object at 0x{obj:x} is not a bytes object");
        var size = Length(obj + offsets.BytesSize);
        return size == 0 ? [] : Block(obj + offsets.BytesData, (ulong)Math.Min(size, maxBytes));
    }

    /// <summary>The element count and items of a tuple, at most <paramref name="max"/> of them.</summary>
    public ulong[] TupleItems(ulong obj, int max)
    {
        if ((TypeFlags(TypeOf(obj)) & TupleSubclass) == 0) throw new StackReadException($"object at 0x{obj:x} is not a tuple");
        var count = (int)Math.Min(Length(obj + offsets.TupleSize), max);
        var raw = count == 0 ? [] : Block(obj + offsets.TupleItems, (ulong)count * 8);
        var items = new ulong[count];
        for (var i = 0; i < count; i++) items[i] = BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(i * 8));
        return items;
    }

    /// <summary>A safe summary of the object at <paramref name="obj"/>: no code runs, only fields are read.</summary>
    public LocalVariable Summarize(string name, ulong obj, bool followCell = true)
    {
        var type = TypeOf(obj);
        var typeName = TypeName(type);
        var flags = TypeFlags(type);
        switch (typeName)
        {
            case "NoneType": return new(name, typeName, "None", null);
            case "bool": return new(name, typeName, (memory.ReadU64(obj + offsets.LongTag) >> (offsets.LongTagged ? 3 : 0)) == 0 ? "False" : "True", null);
            case "float":
                return new(name, typeName, BitConverter.Int64BitsToDouble((long)memory.ReadU64(obj + offsets.FloatValue)).ToString("R", CultureInfo.InvariantCulture), null);
            case "set" or "frozenset": return new(name, typeName, null, Length(obj + offsets.SetUsed));
            case "cell" when followCell:
                // Cell and free variables live in cells; show what the cell holds.
                var content = memory.ReadU64(obj + CellRef);
                return content == 0 ? new(name, "cell", "empty", null) : Summarize(name, content, followCell: false);
        }
        if ((flags & LongSubclass) != 0) return new(name, typeName, IntValue(obj), null);
        if ((flags & UnicodeSubclass) != 0)
        {
            var text = StringData(obj, MaxValueChars, out var length);
            return new(name, typeName, Quote(text, length > text.Length), length);
        }
        if ((flags & BytesSubclass) != 0) return new(name, typeName, null, Length(obj + offsets.BytesSize));
        if ((flags & ListSubclass) != 0) return new(name, typeName, null, Length(obj + offsets.ListSize));
        if ((flags & TupleSubclass) != 0) return new(name, typeName, null, Length(obj + offsets.TupleSize));
        if ((flags & DictSubclass) != 0) return new(name, typeName, null, Length(obj + DictUsed));
        return new(name, typeName, null, null);
    }

    /// <summary>
    /// An int's value. From 3.12 (Include/cpython/longintrepr.h) lv_tag holds the sign in its low 2
    /// bits (0 positive, 1 zero, 2 negative) and the digit count above bit 3; before 3.12
    /// (Include/longintrepr.h) ob_size is the digit count, negative for negative numbers. Digits are
    /// 30-bit. Two digits fit a long; more are a "big int".
    /// </summary>
    private string IntValue(ulong obj)
    {
        var tag = memory.ReadU64(obj + offsets.LongTag);
        ulong digits, sign;
        if (offsets.LongTagged)
        {
            digits = tag >> 3;
            sign = tag & 3;
        }
        else
        {
            var size = (long)tag;
            digits = (ulong)Math.Abs(Math.Max(size, -(1L << 40)));
            sign = size < 0 ? 2UL : size == 0 ? 1UL : 0UL;
        }
        if (sign == 1 || digits == 0) return "0";
        if (digits > 2) return "big int";
        var raw = Block(obj + offsets.LongDigits, digits * 4);
        var value = (long)(BinaryPrimitives.ReadUInt32LittleEndian(raw) & 0x3fffffff);
        if (digits == 2) value |= (long)(BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(4)) & 0x3fffffff) << 30;
        return (sign == 2 ? -value : value).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Reads a str's characters. The state bit field (Include/cpython/unicodeobject.h, GIL builds
    /// 3.9-3.15) starts interned:2, kind:3, compact:1, ascii:1; compact ASCII data follows PyASCIIObject,
    /// other compact data follows PyCompactUnicodeObject, non-compact data hangs off a pointer there.
    /// </summary>
    private string StringData(ulong obj, int maxChars, out long length)
    {
        length = Length(obj + offsets.UnicodeLength);
        var state = (uint)memory.ReadI32(obj + offsets.UnicodeState);
        var kind = (int)(state >> 2) & 7;
        var compact = (state >> 5 & 1) != 0;
        var ascii = (state >> 6 & 1) != 0;
        if (kind is not (1 or 2 or 4)) throw new StackReadException($"str at 0x{obj:x} has an impossible kind {kind}");
        if (ascii && kind != 1) throw new StackReadException($"str at 0x{obj:x} is ASCII but has kind {kind}");
        var data = compact
            ? obj + (ascii ? offsets.AsciiObjectSize : offsets.CompactUnicodeSize)
            : CheckedPointer(obj + offsets.CompactUnicodeSize);
        var chars = (int)Math.Min(length, maxChars);
        if (chars == 0) return "";
        var bytes = Block(data, (ulong)(chars * kind));
        return kind switch
        {
            1 => Encoding.Latin1.GetString(bytes),
            2 => Encoding.Unicode.GetString(bytes),
            _ => Encoding.UTF32.GetString(bytes),
        };
    }

    private long Length(ulong address)
    {
        var n = (long)memory.ReadU64(address);
        if (n < 0 || n > MaxSaneLength) throw new StackReadException($"implausible length {n} at 0x{address:x}");
        return n;
    }

    private ulong CheckedPointer(ulong address)
    {
        var p = memory.ReadU64(address);
        if (!Plausible(p)) throw new StackReadException($"pointer 0x{p:x} at 0x{address:x} is not a user-space address");
        return p;
    }

    /// <summary>A NUL-terminated C string, read page by page so that a string near the end of a mapping can be read.</summary>
    private string CString(ulong address, int max)
    {
        var result = new List<byte>();
        while (result.Count < max)
        {
            var toPageEnd = (int)(4096 - (address & 4095));
            var chunk = new byte[Math.Min(toPageEnd, max - result.Count)];
            memory.Read(address, chunk);
            var end = Array.IndexOf(chunk, (byte)0);
            if (end >= 0)
            {
                result.AddRange(chunk.AsSpan(0, end));
                return Encoding.UTF8.GetString(result.ToArray());
            }
            result.AddRange(chunk);
            address += (ulong)chunk.Length;
        }
        throw new StackReadException($"C string at 0x{address:x} is longer than {max} bytes");
    }

    private static string Quote(string text, bool cut)
    {
        var b = new StringBuilder("'");
        foreach (var c in text)
        {
            b.Append(c switch
            {
                '\'' => "\\'",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when char.IsControl(c) => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            });
        }
        b.Append(cut ? "'…" : "'");
        return b.ToString();
    }
}
