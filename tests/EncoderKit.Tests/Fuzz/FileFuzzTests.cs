namespace EncoderKit.Tests.Fuzz;

/// <summary>
/// Seeded mutants of every kind of file a user hands the loaders: only <see cref="EncoderKitException"/> may come out.
/// Sized to take seconds here; `dotnet run -c Release --project bench/EncoderKit.Bench -- fuzz --cases 30000` runs
/// the same kinds at length.
/// </summary>
public sealed class FileFuzzTests
{
    public static TheoryData<string, int> Kinds => new()
    {
        { "safetensors", 1500 }, { "config.json", 1500 }, { "tokenizer.json", 600 }, { "tokenizer_config", 300 }, { "sentencepiece", 300 },
        { "modules.json", 1500 }, { "jsonl", 1500 },
    };

    // A seed the loader refuses would leave the fuzz testing nothing but the refusal.
    [Theory, MemberData(nameof(Kinds))]
    public void EverySeedLoads(string kind, int cases)
    {
        _ = cases;
        FuzzKind fuzz = FuzzKinds.All(ReferenceData.Root, FuzzKinds.RepositoryRoot()).Single(k => k.Name == kind);
        string dir = Directory.CreateTempSubdirectory("encoderkit-fuzz-seed-").FullName;
        try
        {
            fuzz.Prepare(dir);
            foreach (byte[] seed in fuzz.Seeds) fuzz.Load(dir, seed);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory, MemberData(nameof(Kinds))]
    public Task OnlyTheTypedErrorEscapes(string kind, int cases) => AssertOnlyTypedErrors(kind, cases);

    static async Task AssertOnlyTypedErrors(string kind, int cases)
    {
        FuzzKind fuzz = FuzzKinds.All(ReferenceData.Root, FuzzKinds.RepositoryRoot()).Single(k => k.Name == kind);
        FuzzReport report = await Task.Run(() => FuzzRun.Run(fuzz, cases, seed: 17)).WaitAsync(TimeSpan.FromMinutes(5));   // TimeoutException: a hang
        var distinct = report.Escapes.GroupBy(e => e.Signature).Select(g => $"{g.Count()} × {g.First()}");
        Assert.True(report.Escapes.Count == 0, $"{report.Summary}\n{string.Join("\n", distinct)}");
        // The mutants must reach past the parser: some load, some are refused.
        Assert.True(report.Accepted > 0 && report.TypedErrors > 0, report.Summary);
    }
}
