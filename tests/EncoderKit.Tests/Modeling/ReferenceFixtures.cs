using System.Text.Json.Nodes;

namespace EncoderKit.Tests.Modeling;

/// <summary>The reference fixtures as the folder holds them: every models/*/meta.json. Every one of them loads, and every fixture-driven test runs on each.</summary>
public static class ReferenceFixtures
{
    static readonly Lazy<IReadOnlyList<string>> all = new(() =>
        Directory.GetDirectories(Path.Combine(ReferenceData.Root, "models"))
            .Where(d => File.Exists(Path.Combine(d, "meta.json")))
            .Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList());

    public static IReadOnlyList<string> All => all.Value;

    /// <summary>The families' own fixtures: no task head (the base model with MLM and friends).</summary>
    public static IEnumerable<string> Base => All.Where(IsBase);

    public static JsonObject Meta(string name) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(ReferenceData.Model(name), "meta.json")))!.AsObject();

    public static bool IsBase(string name) => Meta(name)["task"] is null;
}
