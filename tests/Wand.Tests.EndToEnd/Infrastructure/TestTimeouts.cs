namespace Wand.Tests.EndToEnd.Infrastructure;

/// <summary>
/// The timeout every end-to-end fact carries (xunit v3 <c>Timeout</c>, which needs an async test), so a
/// hung attach, editor or child process fails the one test instead of stalling the whole run. Generous:
/// the machine that runs the suite may be small and loaded.
/// </summary>
public static class TestTimeouts
{
    public const int EndToEnd = 300_000;

    /// <summary>For facts that build and pack the tool itself (dotnet pack, publish).</summary>
    public const int Packaging = 900_000;
}
