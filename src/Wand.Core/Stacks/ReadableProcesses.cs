using Wand.Discovery;
using Wand.Errors;
using Wand.Session;

namespace Wand.Stacks;

/// <summary>Which process to read when none was named.</summary>
public static class ReadableProcesses
{
    /// <summary>
    /// Any Python process (the reload worker over its parent first): reading needs neither remote
    /// debugging nor a version wand can debug there, so the attach state does not narrow the choice.
    /// </summary>
    public static ProcessChoice Among(IReadOnlyList<PythonProcess> all, string where)
    {
        if (all.Count == 0) throw new WandException(ExitCodes.ProcessNotFound, $"no Python processes found in {where}", remedy: new Remedy(RemedyKind.ListProcesses));
        var recommended = RoleClassifier.Recommend(all) ?? (all.Count == 1 ? all[0] : null);
        return new ProcessChoice(recommended is null ? all : [recommended, .. all.Where(p => p != recommended)], recommended);
    }
}
