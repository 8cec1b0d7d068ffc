using System.Text.Json.Nodes;
using EncoderKit.IO;

namespace EncoderKit.Cli.Commands;

/// <summary>One input text (and, for pairs, its partner) with the line it came from; or, from JSON lines, token ids.</summary>
readonly record struct InputText(string Text, string? Pair, int Line, int[]? Ids = null, int[]? TypeIds = null);

/// <summary>
/// Texts from the command line, a file, or standard input: one text per line, or with --jsonl one JSON object per
/// line (<c>{"text": …}</c>, and <c>"text_pair"</c> for pairs; or, already tokenized, <c>{"input_ids": [...],
/// "token_type_ids": [...]}</c>). A line that is not such an object is an error naming the source and the line number.
/// </summary>
static class TextInput
{
    /// <param name="positional">Texts given as arguments; when there are any, nothing is read.</param>
    /// <param name="file">A file to read; null or "-" for standard input.</param>
    /// <param name="tabPairs">In line mode, split each line at its first tab into text and pair.</param>
    public static List<InputText> Read(CliInvocation cli, IReadOnlyList<string> positional, string? file, bool jsonl, bool tabPairs = false)
    {
        if (positional.Count > 0)
        {
            if (file is not null) throw new EncoderKitException(ErrorKind.BadInput, "give texts as arguments or with --input, not both", field: "--input");
            return positional.Select((t, i) => new InputText(t, null, i + 1)).ToList();
        }
        var texts = new List<InputText>();
        foreach (var (line, number, source) in Lines(cli, file))
        {
            if (jsonl) texts.Add(ParseJson(line, source, number));
            else if (tabPairs)
            {
                int tab = line.IndexOf('\t');
                if (tab < 0) throw new EncoderKitException(ErrorKind.BadInput, "expected two texts separated by a tab", source, $"line {number}");
                texts.Add(new InputText(line[..tab], line[(tab + 1)..], number));
            }
            else texts.Add(new InputText(line, null, number));
        }
        return texts;
    }

    /// <summary>The lines of a file, or of standard input when <paramref name="file"/> is null or "-", numbered from 1.</summary>
    public static IEnumerable<(string Line, int Number, string Source)> Lines(CliInvocation cli, string? file)
    {
        bool stdin = file is null or "-";
        if (!stdin && !File.Exists(file)) throw new EncoderKitException(ErrorKind.MissingFile, "no such input file", file);
        string source = stdin ? "stdin" : file!;
        using TextReader? owned = stdin ? null : new StreamReader(file!, System.Text.Encoding.UTF8);
        TextReader reader = owned ?? cli.In;
        int number = 0;
        for (string? line; (line = reader.ReadLine()) is not null;) yield return (line, ++number, source);
    }

    /// <summary>One JSON line: <c>{"text": …, "text_pair": …}</c>, or <c>{"input_ids": […], "token_type_ids": […]}</c>.</summary>
    public static InputText ParseJson(string line, string source, int number)
    {
        EncoderKitException Bad(string problem) => new(ErrorKind.BadInput, problem, source, $"line {number}");
        JsonObject root = JsonLines.ParseObject(line, source, number);
        if (root.TryGetPropertyValue("input_ids", out JsonNode? ids))
        {
            int[] Ints(JsonNode? array, string key) => array is JsonArray items && items.All(x => x is JsonValue v && v.TryGetValue(out int _))
                ? items.Select(x => x!.GetValue<int>()).ToArray()
                : throw Bad($"\"{key}\" must be a list of integers");
            int[] tokens = Ints(ids, "input_ids");
            int[]? types = root["token_type_ids"] is { } t ? Ints(t, "token_type_ids") : null;
            if (types is not null && types.Length != tokens.Length) throw Bad($"{types.Length} token_type_ids for {tokens.Length} input_ids");
            return new InputText("", null, number, tokens, types);
        }
        string text = root["text"] is JsonValue value && value.TryGetValue(out string? s) ? s : throw Bad("\"text\" must be a string (or give \"input_ids\")");
        string? pair = root["text_pair"] switch
        {
            null => null,
            JsonValue p when p.TryGetValue(out string? second) => second,
            _ => throw Bad("\"text_pair\" must be a string or null"),
        };
        return new InputText(text, pair, number);
    }
}
