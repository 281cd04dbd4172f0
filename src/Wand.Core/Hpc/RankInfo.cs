namespace Wand.Hpc;

/// <summary>
/// This process's rank in a multi-process job, from the variables launchers set: torchrun/DDP
/// (<c>RANK</c>), Slurm (<c>SLURM_PROCID</c>), Open MPI (<c>OMPI_COMM_WORLD_RANK</c>), MPICH/Intel MPI (<c>PMI_RANK</c>).
/// </summary>
public static class RankInfo
{
    public static readonly string[] Variables = ["RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK"];

    /// <summary>The rank and the variable it came from; null when no launcher set one (a single process).</summary>
    public static (int Rank, string Variable)? Detect(Func<string, string?> environment)
    {
        foreach (var name in Variables)
            if (environment(name) is { Length: > 0 } value && int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var rank))
                return (rank, name);
        return null;
    }
}
