using System.Text.Json.Nodes;
using EncoderKit.FineTuning.Data;

namespace EncoderKit.Contrastive;

/// <summary>The fields contrastive training data is read from, sentence-transformers' column names by default.</summary>
public sealed record ContrastiveColumns
{
    public string Anchor { get; init; } = "anchor";
    public string Positive { get; init; } = "positive";

    /// <summary>One hard negative per row (a string).</summary>
    public string Negative { get; init; } = "negative";

    /// <summary>Hard negatives as a list, the same number in every row.</summary>
    public string Negatives { get; init; } = "negatives";

    /// <summary>The source a row comes from; when rows name one, every batch draws from a single source.</summary>
    public string Dataset { get; init; } = "dataset";

    public string Sentence1 { get; init; } = "sentence1";
    public string Sentence2 { get; init; } = "sentence2";
    public string Score { get; init; } = "score";
}

/// <summary>
/// One training row: its texts by column — anchor, positive, then each hard negative; or sentence1, sentence2 for a
/// scored pair — its source (null when the data names none) and, for a scored pair, its gold score.
/// </summary>
public sealed record ContrastiveRow(IReadOnlyList<string> Texts, string? Dataset, double Score);

/// <summary>
/// Reads contrastive training data from the files <see cref="DataFiles"/> reads (JSONL, Parquet, …): (anchor, positive)
/// pairs with optional hard negatives, or (sentence1, sentence2, score) pairs. Every row must have the same columns,
/// since a batch's texts are embedded column by column; an error names the file, the line and the column.
/// </summary>
public static class ContrastiveData
{
    /// <param name="scored">Read (sentence1, sentence2, score) pairs, for CoSENT.</param>
    public static async Task<IReadOnlyList<ContrastiveRow>> ReadAsync(string path, bool scored, ContrastiveColumns? columns = null, CancellationToken cancellationToken = default)
    {
        columns ??= new ContrastiveColumns();
        IReadOnlyList<DataRow> rows = await DataFiles.ReadAsync(path, cancellationToken).ConfigureAwait(false);
        var result = new List<ContrastiveRow>(rows.Count);
        DataRow? first = null;
        foreach (DataRow row in rows)
        {
            string? dataset = row.Fields.ContainsKey(columns.Dataset) ? row.Text(columns.Dataset) : null;
            ContrastiveRow read = scored
                ? new ContrastiveRow([row.Text(columns.Sentence1), row.Text(columns.Sentence2)], dataset, Score(row, columns.Score))
                : new ContrastiveRow([row.Text(columns.Anchor), row.Text(columns.Positive), .. Negatives(row, columns)], dataset, double.NaN);
            if (first is not null)
            {
                ContrastiveRow shape = result[0];
                if (read.Texts.Count != shape.Texts.Count)
                    throw new EncoderKitException(ErrorKind.BadInput,
                        $"{read.Texts.Count - 2} hard negatives, but {first.Place} has {shape.Texts.Count - 2}: every row needs the same number", row.File, row.Place);
                if ((read.Dataset is null) != (shape.Dataset is null))
                    throw (read.Dataset is null ? row : first).Error(columns.Dataset, $"is missing, but {(read.Dataset is null ? first : row).Place} names its dataset: name it in every row or in none");
            }
            first ??= row;
            result.Add(read);
        }
        return result;
    }

    static IEnumerable<string> Negatives(DataRow row, ContrastiveColumns columns)
    {
        bool one = row.Fields.ContainsKey(columns.Negative), many = row.Fields.ContainsKey(columns.Negatives);
        if (one && many) throw row.Error(columns.Negatives, $"and '{columns.Negative}' are both given: use one of them");
        if (one) return [row.Text(columns.Negative)];
        if (!many) return [];
        IReadOnlyList<string> negatives = row.Strings(columns.Negatives);
        return row.Get(columns.Negatives) is JsonArray array && array.Any(item => item is not JsonValue v || !v.TryGetValue(out string? _))
            ? throw row.Error(columns.Negatives, "holds something other than strings")
            : negatives;
    }

    static double Score(DataRow row, string column)
    {
        JsonNode node = row.Get(column);
        return node is JsonValue value && DataRow.TryNumber(value, out double score) && double.IsFinite(score) ? score
            : throw row.Error(column, $"is {node.ToJsonString()}, not a finite number");
    }
}
