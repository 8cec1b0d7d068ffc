using EncoderKit.IO;
using Parquet;
using Parquet.Schema;

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

    /// <summary>Parquet (Hugging Face datasets' exports), one document per row, its text in a named string column.</summary>
    Parquet,
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
    /// <exception cref="EncoderKitException">A record has no text (naming the file and the line, or the row group and row), or a file is not in the format.</exception>
    public static IEnumerable<string> Read(IEnumerable<string> files, DocumentFormat format, string textField = "text")
    {
        foreach (string file in files)
        {
            if (format == DocumentFormat.Parquet)
            {
                foreach (string text in ParquetColumn(file, textField)) yield return text;
                continue;
            }
            if (file.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase))
                throw new EncoderKitException(ErrorKind.BadInput, $"a Parquet file read as {format.ToString().ToLowerInvariant()}; use --format parquet", file);
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

    // One row group's column at a time: memory holds a row group's texts, never the file's. Parquet.Net reads only
    // asynchronously; the preparation is a synchronous pipeline, so its reads are awaited here.
    static IEnumerable<string> ParquetColumn(string file, string column)
    {
        using var stream = File.OpenRead(file);
        ParquetReader reader = Wait(() => ParquetReader.CreateAsync(stream), file);
        try
        {
            DataField field = reader.Schema.Fields.FirstOrDefault(f => f.Name == column) switch
            {
                // Parquet.Net 6 types a UTF-8 column as ReadOnlyMemory<char> when it reads a file's schema.
                DataField { ClrType: var type, IsArray: false } data when type == typeof(string) || type == typeof(ReadOnlyMemory<char>) => data,
                null => throw new EncoderKitException(ErrorKind.BadInput,
                    $"no column \"{column}\" (columns: {string.Join(", ", reader.Schema.Fields.Select(f => f.Name))}); name the text column with --text-field", file, column),
                _ => throw new EncoderKitException(ErrorKind.BadInput, $"column \"{column}\" does not hold strings", file, column),
            };
            for (int group = 0; group < reader.RowGroupCount; group++)
            {
                string?[] texts;
                using (ParquetRowGroupReader rowGroup = reader.OpenRowGroupReader(group))
                {
                    texts = new string?[checked((int)rowGroup.RowCount)];
                    Wait(async () => { await rowGroup.ReadAsync(field, texts.AsMemory()!).ConfigureAwait(false); return 0; }, file);
                }
                for (int row = 0; row < texts.Length; row++)
                    yield return texts[row] ?? throw new EncoderKitException(ErrorKind.BadInput, $"null text in row group {group}, row {row}", file, column);
            }
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    static T Wait<T>(Func<Task<T>> read, string file)
    {
        try
        {
            return read().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            throw new EncoderKitException(ErrorKind.BadInput, $"not a readable Parquet file: {e.Message}", file, inner: e);
        }
    }
}
