using EncoderKit.Tests.Fuzz;

namespace EncoderKit.Bench;

/// <summary>
/// The test suite's file fuzz at length: `fuzz --cases 30000 [--kinds config.json,jsonl] [--seed 17] [--save dir]`.
/// Prints, per kind, how many mutants loaded, were refused with the typed error, or escaped as anything else, and the
/// slowest case; with --save, every escaping input is written out to reproduce it.
/// </summary>
static class FuzzBench
{
    public static void Run(Arguments args)
    {
        int cases = (int)args.Double("--cases", 30_000);
        int seed = (int)args.Double("--seed", 17);
        string? save = args.Get("--save");
        string repository = FuzzKinds.RepositoryRoot();
        string reference = Environment.GetEnvironmentVariable("ENCODERKIT_REFERENCE") is { Length: > 0 } r ? r : Path.Combine(repository, "..", "shared", "reference");
        var kinds = FuzzKinds.All(Path.GetFullPath(reference), repository);
        string[] wanted = args.Strings("--kinds", kinds.Select(k => k.Name).ToArray());
        Console.WriteLine($"fuzz: {cases} cases per kind, seed {seed}; {Environment.ProcessorCount} cores");
        foreach (FuzzKind kind in kinds.Where(k => wanted.Contains(k.Name)))
        {
            FuzzReport report = FuzzRun.Run(kind, cases, seed);
            Console.WriteLine(report.Summary);
            foreach (var group in report.Escapes.GroupBy(e => e.Signature))
            {
                Console.WriteLine($"  {group.Count()} × {group.First()}");
                if (save is null) continue;
                Directory.CreateDirectory(save);
                foreach (FuzzEscape e in group) File.WriteAllBytes(Path.Combine(save, $"{kind.Name}-{e.Case}"), e.Input);
            }
        }
    }
}
