namespace Wand.Stacks;

/// <summary>
/// Decodes a code object's location table (<c>co_linetable</c>, CPython 3.11+; format described in
/// CPython's InternalDocs/code_objects.md and Objects/locations.md, decoded the same way as
/// Modules/_remote_debugging/code_objects.c parse_linetable). Pure and bounded: malformed input gives
/// null, never an exception or an endless loop.
/// </summary>
public static class LineTable
{
    // Entry codes (Include/cpython/code.h, _PyCodeLocationInfoKind).
    private const int None = 15;
    private const int Long = 14;
    private const int NoColumns = 13;
    private const int OneLine0 = 10;
    private const int OneLine2 = 12;

    /// <summary>
    /// The line of the instruction at <paramref name="codeUnit"/> (index in 16-bit code units from the
    /// start of the bytecode), or null when the table says it has no line or is malformed.
    /// </summary>
    public static int? LineOf(ReadOnlySpan<byte> table, int firstLine, long codeUnit)
    {
        if (codeUnit < 0) return null;
        var pos = 0;
        long address = 0;
        var line = firstLine;
        // Every entry consumes at least one byte, so the loop ends within table.Length iterations.
        while (pos < table.Length)
        {
            var first = table[pos++];
            if ((first & 0x80) == 0) return null; // each entry starts with the high bit set
            var code = (first >> 3) & 15;
            var length = (first & 7) + 1;
            int? entryLine;
            switch (code)
            {
                case None:
                    entryLine = null;
                    break;
                case Long:
                    if (!SignedVarint(table, ref pos, out var delta)) return null;
                    line += delta;
                    entryLine = line;
                    // end line delta, column + 1, end column + 1
                    if (!Varint(table, ref pos, out _) || !Varint(table, ref pos, out _) || !Varint(table, ref pos, out _)) return null;
                    break;
                case NoColumns:
                    if (!SignedVarint(table, ref pos, out var d)) return null;
                    line += d;
                    entryLine = line;
                    break;
                case >= OneLine0 and <= OneLine2:
                    line += code - OneLine0;
                    entryLine = line;
                    pos += 2; // start and end column, one byte each
                    if (pos > table.Length) return null;
                    break;
                default:
                    // short form: one byte of column data, same line
                    if (pos >= table.Length || (table[pos] & 0x80) != 0) return null;
                    pos++;
                    entryLine = line;
                    break;
            }
            if (codeUnit < address + length) return entryLine;
            address += length;
        }
        return null;
    }

    /// <summary>
    /// 3.9's <c>co_lnotab</c>: pairs of (bytecode byte increment, signed line increment), decoded as
    /// 3.9's PyCode_Addr2Line (Objects/codeobject.c) does for the byte offset <paramref name="byteOffset"/>
    /// (PyFrameObject.f_lasti). Pure and bounded; a negative offset is the frame's first line.
    /// </summary>
    public static int? LineOfLnotab(ReadOnlySpan<byte> table, int firstLine, long byteOffset)
    {
        var line = firstLine;
        long address = 0;
        for (var pos = 0; pos + 1 < table.Length; pos += 2)
        {
            address += table[pos];
            if (address > byteOffset) break;
            line += (sbyte)table[pos + 1];
        }
        return line;
    }

    /// <summary>
    /// 3.10's <c>co_linetable</c> (PEP 626; Objects/lnotab_notes.txt of 3.10): pairs of (unsigned bytecode
    /// byte delta, signed line delta), -128 meaning "no line" for that range without moving the line;
    /// decoded as 3.10's _PyCode_CheckLineNumber (Objects/codeobject.c) does for the byte offset
    /// <paramref name="byteOffset"/> (2 * PyFrameObject.f_lasti). Null for no line or past the table;
    /// a negative offset (the frame has not started) is the first line, as PyCode_Addr2Line says.
    /// </summary>
    public static int? LineOf310(ReadOnlySpan<byte> table, int firstLine, long byteOffset)
    {
        if (byteOffset < 0) return firstLine;
        var line = firstLine;
        long end = 0;
        for (var pos = 0; pos + 1 < table.Length; pos += 2)
        {
            end += table[pos];
            var delta = (sbyte)table[pos + 1];
            if (delta != -128) line += delta;
            if (end > byteOffset) return delta == -128 ? null : line;
        }
        return null;
    }

    private static bool Varint(ReadOnlySpan<byte> table, ref int pos, out int value)
    {
        value = 0;
        var shift = 0;
        while (true)
        {
            if (pos >= table.Length || shift > 28) return false;
            var b = table[pos++];
            value |= (b & 63) << shift;
            if ((b & 64) == 0) return true;
            shift += 6;
        }
    }

    private static bool SignedVarint(ReadOnlySpan<byte> table, ref int pos, out int value)
    {
        if (!Varint(table, ref pos, out var raw)) { value = 0; return false; }
        value = (raw & 1) != 0 ? -(int)((uint)raw >> 1) : (int)((uint)raw >> 1);
        return true;
    }
}
