using System.Text.Json.Nodes;

namespace EncoderKit.Tests.Modeling;

/// <summary>
/// The reference fixtures as the folder holds them: every models/*/meta.json. A few hold heads EncoderKit does not
/// build yet; they are named in <see cref="HeadsNotBuiltYet"/>, get no case in the tests built on <see cref="Loadable"/>
/// (so they are not counted as passes), and <c>ReferenceFixtureTests</c> checks that each of them still fails to load,
/// so the list cannot go stale when their heads land.
/// </summary>
public static class ReferenceFixtures
{
    /// <summary>Question answering, token classification, multiple choice and RetrievaBERT's pooled classifier.</summary>
    public static readonly IReadOnlySet<string> HeadsNotBuiltYet = new HashSet<string>(StringComparer.Ordinal)
    {
        "bert-mc", "bert-qa", "bert-tokcls",
        "modernbert-mc", "modernbert-qa", "modernbert-tokcls",
        "retrieva_bert-mc", "retrieva_bert-qa", "retrieva_bert-seqcls", "retrieva_bert-tokcls",
    };

    static readonly Lazy<IReadOnlyList<string>> all = new(() =>
        Directory.GetDirectories(Path.Combine(ReferenceData.Root, "models"))
            .Where(d => File.Exists(Path.Combine(d, "meta.json")))
            .Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList());

    public static IReadOnlyList<string> All => all.Value;

    public static IEnumerable<string> Loadable => All.Where(f => !HeadsNotBuiltYet.Contains(f));

    /// <summary>The families' own fixtures: no task head (the base model with MLM and friends).</summary>
    public static IEnumerable<string> Base => All.Where(IsBase);

    public static JsonObject Meta(string name) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(ReferenceData.Model(name), "meta.json")))!.AsObject();

    public static bool IsBase(string name) => Meta(name)["task"] is null;
}
