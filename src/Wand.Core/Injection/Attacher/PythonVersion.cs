namespace Wand.Injection.Attacher;

/// <summary>A CPython version as encoded in PY_VERSION_HEX.</summary>
public sealed record PythonVersion(int Major, int Minor, int Micro, int ReleaseLevel, int Serial)
{
    public const int Final = 0xF;

    public bool IsFinal => ReleaseLevel == Final;

    public static PythonVersion FromHex(ulong hex) =>
        new((int)(hex >> 24) & 0xff, (int)(hex >> 16) & 0xff, (int)(hex >> 8) & 0xff, (int)(hex >> 4) & 0xf, (int)hex & 0xf);

    public override string ToString() => ReleaseLevel switch
    {
        Final => $"{Major}.{Minor}.{Micro}",
        0xA => $"{Major}.{Minor}.{Micro}a{Serial}",
        0xB => $"{Major}.{Minor}.{Micro}b{Serial}",
        0xC => $"{Major}.{Minor}.{Micro}rc{Serial}",
        _ => $"{Major}.{Minor}.{Micro}.{ReleaseLevel:x}{Serial}",
    };

    public string MajorMinor => $"{Major}.{Minor}";
}
