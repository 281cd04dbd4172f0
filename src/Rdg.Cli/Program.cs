using System.CommandLine;

// rdg: the HPC face of wand. Its commands arrive with the HPC issue; for now it explains itself.
var root = new RootCommand("rdg: debug Python jobs on HPC clusters (Slurm) from your editor. " +
    "Commands (coming): init, debug [--lite] [--post-mortem] python SCRIPT..., attach [JOB] [PID], tunnel [JOB].");
return await root.Parse(args).InvokeAsync();
