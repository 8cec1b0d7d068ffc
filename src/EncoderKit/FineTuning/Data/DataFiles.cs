using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Parquet.Serialization;

namespace EncoderKit.FineTuning.Data;

/// <summary>
/// Reads a data file into rows, by its extension: .jsonl (one object per line), .json (a SQuAD file: data / paragraphs /
/// qas, flattened to one row per question as Hugging Face's squad loader does; or a list of objects), .csv (RFC 4180
/// quoting), .tsv (tabs, no quoting at all, as GLUE's own files need), .parquet (Hugging Face datasets' exports), and
/// .conll / .txt (the CoNLL format: a word and its tag per line, blank lines between sentences, as rows of
/// <c>tokens</c> and <c>ner_tags</c>). Delimited files have a header row.
/// </summary>
public static class DataFiles
{
    /// <exception cref="EncoderKitException">The file is missing, empty, unreadable, or not in its format.</exception>
    public static async Task<IReadOnlyList<DataRow>> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(path)) throw new EncoderKitException(ErrorKind.MissingFile, "data file not found", path);
        string extension = Path.GetExtension(path).ToLowerInvariant();
        IReadOnlyList<DataRow> rows;
        try
        {
            rows = extension switch
            {
                ".jsonl" => JsonLines(path, await File.ReadAllLinesAsync(path, cancellationToken).ConfigureAwait(false)),
                ".json" => Json(path, await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false)),
                ".csv" => Delimited(path, await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false), ',', quoted: true),
                ".tsv" => Delimited(path, await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false), '\t', quoted: false),
                ".parquet" => await ParquetAsync(path, cancellationToken).ConfigureAwait(false),
                ".conll" or ".txt" => Conll(path, await File.ReadAllLinesAsync(path, cancellationToken).ConfigureAwait(false)),
                _ => throw new EncoderKitException(ErrorKind.BadInput, $"unknown data format '{extension}'; expected .jsonl, .json, .csv, .tsv, .parquet, .conll or .txt", path),
            };
        }
        catch (IOException e)
        {
            throw new EncoderKitException(ErrorKind.BadInput, $"cannot be read: {e.Message}", path, inner: e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new EncoderKitException(ErrorKind.BadInput, $"cannot be read: {e.Message}", path, inner: e);
        }
        if (rows.Count == 0) throw new EncoderKitException(ErrorKind.BadInput, "the data file holds no examples", path);
        return rows;
    }

    static List<DataRow> JsonLines(string path, string[] lines)
    {
        var rows = new List<DataRow>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            string place = $"line {i + 1}";
            JsonNode? node;
            try
            {
                node = JsonNode.Parse(lines[i]);
            }
            catch (JsonException e)
            {
                throw new EncoderKitException(ErrorKind.BadInput, $"not JSON: {e.Message}", path, place, e);
            }
            rows.Add(new DataRow(path, place, node as JsonObject ?? throw new EncoderKitException(ErrorKind.BadInput, "not a JSON object", path, place)));
        }
        return rows;
    }

    static List<DataRow> Json(string path, byte[] utf8)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(utf8);
        }
        catch (JsonException e)
        {
            throw new EncoderKitException(ErrorKind.BadInput, $"not JSON: {e.Message}", path, inner: e);
        }
        if (root is JsonArray list)
            return [.. list.Select((item, i) => new DataRow(path, $"item {i + 1}", item as JsonObject ?? throw new EncoderKitException(ErrorKind.BadInput, "not a JSON object", path, $"item {i + 1}")))];
        if (root is JsonObject { } squad && squad["data"] is JsonArray articles) return Squad(path, articles);
        throw new EncoderKitException(ErrorKind.BadInput, "a .json data file is a list of objects or a SQuAD file ({\"data\": [{\"paragraphs\": ...}]})", path);
    }

    // As the squad dataset script: one row per question, {id, title, context, question, answers: {text, answer_start}}.
    static List<DataRow> Squad(string path, JsonArray articles)
    {
        var rows = new List<DataRow>();
        for (int a = 0; a < articles.Count; a++)
        {
            JsonObject article = articles[a] as JsonObject ?? throw new EncoderKitException(ErrorKind.BadInput, "not an object", path, $"data[{a}]");
            if (article["paragraphs"] is not JsonArray paragraphs) throw new EncoderKitException(ErrorKind.BadInput, "has no 'paragraphs' list", path, $"data[{a}]");
            for (int p = 0; p < paragraphs.Count; p++)
            {
                string where = $"data[{a}].paragraphs[{p}]";
                if (paragraphs[p] is not JsonObject paragraph || paragraph["qas"] is not JsonArray questions)
                    throw new EncoderKitException(ErrorKind.BadInput, "has no 'qas' list", path, where);
                for (int q = 0; q < questions.Count; q++)
                {
                    if (questions[q] is not JsonObject qa) throw new EncoderKitException(ErrorKind.BadInput, "not an object", path, $"{where}.qas[{q}]");
                    var answers = qa["answers"] as JsonArray ?? [];
                    rows.Add(new DataRow(path, $"{where}.qas[{q}]", new JsonObject
                    {
                        ["id"] = qa["id"]?.DeepClone(),
                        ["title"] = article["title"]?.DeepClone(),
                        ["context"] = paragraph["context"]?.DeepClone(),
                        ["question"] = qa["question"]?.DeepClone(),
                        ["answers"] = new JsonObject
                        {
                            ["text"] = new JsonArray([.. answers.Select(x => x?["text"]?.DeepClone())]),
                            ["answer_start"] = new JsonArray([.. answers.Select(x => x?["answer_start"]?.DeepClone())]),
                        },
                    }));
                }
            }
        }
        return rows;
    }

    /// <summary>Header row, then one row per record; CSV fields may be quoted (with "" for a quote), TSV fields never are.</summary>
    static List<DataRow> Delimited(string path, string text, char separator, bool quoted)
    {
        var records = quoted ? QuotedRecords(text, separator) : PlainRecords(text, separator);
        if (records.Count == 0) return [];
        string[] header = records[0].Fields;
        var rows = new List<DataRow>(records.Count - 1);
        foreach (var (line, fields) in records.Skip(1))
        {
            if (fields.Length == 1 && fields[0].Length == 0) continue;
            if (fields.Length != header.Length)
                throw new EncoderKitException(ErrorKind.BadInput, $"{fields.Length} fields, but the header names {header.Length}", path, $"line {line}");
            var row = new JsonObject();
            for (int i = 0; i < header.Length; i++) row[header[i]] = fields[i];
            rows.Add(new DataRow(path, $"line {line}", row));
        }
        return rows;
    }

    static List<(int Line, string[] Fields)> PlainRecords(string text, char separator) =>
        [.. text.Split('\n').Select((line, i) => (Line: i + 1, Text: line.TrimEnd('\r')))
            .Where(l => l.Text.Length > 0)
            .Select(l => (l.Line, l.Text.Split(separator)))];

    static List<(int Line, string[] Fields)> QuotedRecords(string text, char separator)
    {
        var records = new List<(int, string[])>();
        var fields = new List<string>();
        var field = new StringBuilder();
        int line = 1, recordLine = 1;
        bool inQuotes = false, any = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (inQuotes)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') inQuotes = false;
                else
                {
                    if (c == '\n') line++;
                    field.Append(c);
                }
                continue;
            }
            if (c == '"' && field.Length == 0) { inQuotes = true; any = true; }
            else if (c == separator) { fields.Add(field.ToString()); field.Clear(); any = true; }
            else if (c is '\n' or '\r')
            {
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n') i++;
                if (any || field.Length > 0) { fields.Add(field.ToString()); records.Add((recordLine, [.. fields])); }
                fields.Clear(); field.Clear(); any = false;
                recordLine = ++line;
            }
            else { field.Append(c); any = true; }
        }
        if (any || field.Length > 0) { fields.Add(field.ToString()); records.Add((recordLine, [.. fields])); }
        return records;
    }

    static List<DataRow> Conll(string path, string[] lines)
    {
        var rows = new List<DataRow>();
        var words = new JsonArray();
        var tags = new JsonArray();
        int start = 0;
        void Flush()
        {
            if (words.Count > 0) rows.Add(new DataRow(path, $"line {start}", new JsonObject { ["tokens"] = words, ["ner_tags"] = tags }));
            words = [];
            tags = [];
        }
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith("-DOCSTART-", StringComparison.Ordinal)) { Flush(); continue; }
            string[] parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2) throw new EncoderKitException(ErrorKind.BadInput, "a CoNLL line is a word and its tag (the last column)", path, $"line {i + 1}");
            if (words.Count == 0) start = i + 1;
            words.Add(parts[0]);
            tags.Add(parts[^1]);
        }
        Flush();
        return rows;
    }

    static async Task<List<DataRow>> ParquetAsync(string path, CancellationToken cancellationToken)
    {
        await using FileStream stream = File.OpenRead(path);
        var result = await ParquetSerializer.DeserializeUntypedAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
        return [.. result.Data.Select((row, i) => new DataRow(path, $"row {i + 1}", (JsonObject)ToJson(row)!))];
    }

    // Parquet values (strings, numbers, lists, structs as dictionaries) as the JSON the other formats give.
    static JsonNode? ToJson(object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b,
        IDictionary<string, object?> map => new JsonObject(map.Select(p => KeyValuePair.Create(p.Key, ToJson(p.Value)))),
        IDictionary map => new JsonObject(map.Keys.Cast<object>().Select(k => KeyValuePair.Create(Convert.ToString(k, CultureInfo.InvariantCulture)!, ToJson(map[k])))),
        IEnumerable list and not byte[] => new JsonArray([.. list.Cast<object?>().Select(ToJson)]),
        float f => (double)f,
        double d => d,
        decimal m => m,
        IConvertible number => Convert.ToInt64(number, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };
}
