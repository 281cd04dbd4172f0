Console.Error.WriteLine("benchmarks: see bench/README.md");
return 0;
