using System.Text;
using System.Text.RegularExpressions;

namespace EncoderKit.Evaluation;

/// <summary>Exact match and F1 in percent, as the SQuAD v1.1 evaluation script reports them.</summary>
public sealed record SquadScores(double ExactMatch, double F1);

/// <summary>
/// The official SQuAD v1.1 evaluation: answers normalised (lower case, ASCII punctuation removed, the articles a/an/the
/// removed, whitespace collapsed), exact match and bag-of-tokens F1 each taken as the best over the gold answers.
/// </summary>
public static partial class SquadMetrics
{
    const string Punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";   // Python's string.punctuation

    /// <summary>normalize_answer of the script.</summary>
    public static string Normalize(string answer)
    {
        var kept = new StringBuilder(answer.Length);
        foreach (char c in answer.ToLowerInvariant())
            if (!Punctuation.Contains(c)) kept.Append(c);
        string withoutArticles = Articles().Replace(kept.ToString(), " ");
        return string.Join(' ', Tokens(withoutArticles));
    }

    public static bool ExactMatch(string prediction, string truth) => Normalize(prediction) == Normalize(truth);

    /// <summary>f1_score of the script: the harmonic mean of token precision and recall over the tokens both share.</summary>
    public static double F1(string prediction, string truth) => SharedF1(Tokens(Normalize(prediction)), Tokens(Normalize(truth)));

    /// <summary>The harmonic mean of precision and recall over the tokens both lists share (each counted as often as both hold it); 0 when none.</summary>
    internal static double SharedF1(IReadOnlyList<string> predicted, IReadOnlyList<string> gold)
    {
        var counts = gold.GroupBy(t => t, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        int same = 0;
        foreach (string token in predicted)
            if (counts.TryGetValue(token, out int left) && left > 0)
            {
                counts[token] = left - 1;
                same++;
            }
        if (same == 0) return 0;
        double precision = (double)same / predicted.Count, recall = (double)same / gold.Count;
        return 2 * precision * recall / (precision + recall);
    }

    /// <summary>Both scores over examples, each prediction against the best of its gold answers, in percent.</summary>
    public static SquadScores Score(IReadOnlyList<string> predictions, IReadOnlyList<IReadOnlyList<string>> answers) =>
        Score(predictions, answers, ExactMatch, F1);

    /// <summary>Means over examples of the best exact match and the best F1 against the gold answers, in percent.</summary>
    internal static SquadScores Score(IReadOnlyList<string> predictions, IReadOnlyList<IReadOnlyList<string>> answers,
        Func<string, string, bool> exactMatch, Func<string, string, double> f1)
    {
        if (predictions.Count != answers.Count) throw new ArgumentException($"{predictions.Count} predictions for {answers.Count} examples", nameof(answers));
        if (predictions.Count == 0) return new SquadScores(0, 0);
        double exact = 0, f1Sum = 0;
        for (int i = 0; i < predictions.Count; i++)
        {
            exact += answers[i].Any(a => exactMatch(predictions[i], a)) ? 1 : 0;
            f1Sum += answers[i].Select(a => f1(predictions[i], a)).DefaultIfEmpty(0).Max();
        }
        return new SquadScores(100 * exact / predictions.Count, 100 * f1Sum / predictions.Count);
    }

    static string[] Tokens(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    [GeneratedRegex(@"\b(a|an|the)\b")]
    private static partial Regex Articles();
}
