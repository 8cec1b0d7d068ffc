using EncoderKit.IO;

namespace EncoderKit.Pretraining;

/// <summary>What one document of an input file is.</summary>
public enum DocumentFormat
{
    /// <summary>Plain text, one document per line (blank lines skipped).</summary>
    Lines,

    /// <summary>Plain text, documents separated by blank lines; a document's lines are joined with "\n".</summary>
    Paragraphs,

    /// <summary>JSON Lines, one document per record, its text in a named field.</summary>
    Jsonl,
}

/// <summary>The documents of input files, in file order, as prepare-corpus reads them.</summary>
public static class CorpusDocuments
{
    /// <summary>The files of <paramref name="inputs"/>, each a file or a folder (its files, sorted by name, not recursing).</summary>
    /// <exception cref="EncoderKitException">An input does not exist, or none holds a file.</exception>
    public static List<string> Files(IEnumerable<string> inputs)
    {
        var files = new List<string>();
        foreach (string input in inputs)
        {
            if (Directory.Exists(input)) files.AddRange(Directory.GetFiles(input).Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal));
            else if (File.Exists(input)) files.Add(input);
            else throw new EncoderKitException(ErrorKind.MissingFile, "input not found", input);
        }
        if (files.Count == 0) throw new EncoderKitException(ErrorKind.BadInput, "no input files", field: "input");
        return [.. files.Select(Path.GetFullPath)];
    }

    /// <summary>Every document of <paramref name="files"/>, empty ones included (as "") so that counts stay positions.</summary>
    public static IEnumerable<string> Read(IEnumerable<string> files, DocumentFormat format, string textField = "text")
    {
        foreach (string file in files)
        {
            using var reader = new StreamReader(file, System.Text.Encoding.UTF8);
            var paragraph = new List<string>();
            int number = 0;
            while (reader.ReadLine() is { } line)
            {
                number++;
                switch (format)
                {
                    case DocumentFormat.Lines:
                        yield return line.Trim().Length == 0 ? "" : line;
                        break;
                    case DocumentFormat.Jsonl when line.Trim().Length > 0:
                        var record = JsonLines.ParseObject(line, file, number);
                        yield return record[textField] is { } text && text.GetValueKind() == System.Text.Json.JsonValueKind.String ? text.GetValue<string>()
                            : throw new EncoderKitException(ErrorKind.BadInput, $"no string field \"{textField}\" at line {number}", file, textField);
                        break;
                    case DocumentFormat.Paragraphs when line.Trim().Length == 0:
                        if (paragraph.Count > 0) yield return string.Join('\n', paragraph);
                        paragraph.Clear();
                        break;
                    case DocumentFormat.Paragraphs:
                        paragraph.Add(line);
                        break;
                }
            }
            if (paragraph.Count > 0) yield return string.Join('\n', paragraph);
        }
    }
}
