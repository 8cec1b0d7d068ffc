using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EncoderKit.IO;

/// <summary>One entry of modules.json: <c>{"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}</c>.</summary>
/// <param name="Path">The module's folder inside the model folder, '/'-separated, without a trailing '/'; empty for the model folder itself.</param>
internal sealed record ModuleEntry(string Name, string Path, string Type);

/// <summary>
/// The one reader of a sentence-transformers modules.json: the module list in file order, each entry's path checked to
/// stay inside the model folder. What the types mean is the reader's caller's business (the downloader fetches every
/// module folder; the sentence encoder runs the kinds it knows).
/// </summary>
internal static class ModulesJson
{
    public const string FileName = "modules.json";

    /// <param name="path">The file to read.</param>
    /// <param name="shownAs">How errors name the file (a hub cache path means little to a user); the path by default.</param>
    public static IReadOnlyList<ModuleEntry> Read(string path, string? shownAs = null)
    {
        string file = shownAs ?? path;
        JsonNode? root = PythonJson.Parse(PythonJson.ReadFile(path), file, ErrorKind.BadConfig);
        if (root is not JsonArray array)
            throw new EncoderKitException(ErrorKind.BadConfig, "expected a JSON list of modules", file);
        var modules = new List<ModuleEntry>(array.Count);
        for (int i = 0; i < array.Count; i++)
        {
            string at = $"[{i}]";
            if (array[i] is not JsonObject entry) throw new EncoderKitException(ErrorKind.BadConfig, "expected an object {name, path, type}", file, at);
            string type = Text(entry, "type", file, at) ?? throw new EncoderKitException(ErrorKind.BadConfig, "missing", file, at + ".type");
            string name = Text(entry, "name", file, at) ?? i.ToString(CultureInfo.InvariantCulture);
            string modulePath = (Text(entry, "path", file, at) ?? throw new EncoderKitException(ErrorKind.BadConfig, "missing", file, at + ".path")).TrimEnd('/');
            if (modulePath.Length > 0 && !RelativePaths.IsSafe(modulePath))
                throw new EncoderKitException(ErrorKind.BadConfig, $"module path '{modulePath}' would leave the model folder", file, at + ".path");
            modules.Add(new ModuleEntry(name, modulePath, type));
        }
        return modules;
    }

    static string? Text(JsonObject entry, string key, string file, string at) => entry[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        var other => throw new EncoderKitException(ErrorKind.BadConfig, $"expected a string, got {PythonJson.Describe(other)}", file, $"{at}.{key}"),
    };
}
