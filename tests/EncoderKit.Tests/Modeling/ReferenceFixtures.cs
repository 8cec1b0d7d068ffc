using System.Text.Json.Nodes;

namespace EncoderKit.Tests.Modeling;

/// <summary>
/// The reference fixtures as the folder holds them: every models/*/meta.json, and which of them load today. A
/// fixture whose head EncoderKit does not carry yet (token classification, QA, multiple choice) fails the load with
/// an <see cref="EncoderKitException"/>; tests built on <see cref="Loadable"/> get no case for it, so it is not
/// counted as a pass.
/// </summary>
public static class ReferenceFixtures
{
    static readonly Lazy<IReadOnlyList<string>> all = new(() =>
        Directory.GetDirectories(Path.Combine(ReferenceData.Root, "models"))
            .Where(d => File.Exists(Path.Combine(d, "meta.json")))
            .Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList());

    static readonly Lazy<IReadOnlyList<string>> loadable = new(() => all.Value.Where(Loads).ToList());

    public static IReadOnlyList<string> All => all.Value;

    public static IReadOnlyList<string> Loadable => loadable.Value;

    public static JsonObject Meta(string name) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(ReferenceData.Model(name), "meta.json")))!.AsObject();

    /// <summary>Fixtures with no task head of their own (the family's base fixture, MLM and friends).</summary>
    public static bool IsBase(string name) => Meta(name)["task"] is null;

    static bool Loads(string name)
    {
        try
        {
            using var model = EncoderModel.Load(ReferenceData.Model(name));
            return true;
        }
        catch (EncoderKitException)
        {
            return false;
        }
    }
}
