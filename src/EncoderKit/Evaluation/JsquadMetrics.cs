using System.Text;
using EncoderKit.Tokenization.Unicode;

namespace EncoderKit.Evaluation;

/// <summary>
/// Exact match and character-level F1 as JGLUE scores JSQuAD. JGLUE fine-tunes and scores JSQuAD with transformers'
/// legacy <c>run_squad.py</c>, patched by <c>fine-tuning/patch/transformers-4.9.2_jglue-1.1.0.patch</c> (and the same
/// hunk in the 4.24.0 patch) of github.com/yahoojapan/JGLUE, which changes <c>src/transformers/data/metrics/squad_metrics.py</c>:
/// <list type="bullet">
/// <item><c>normalize_answer</c> still lower-cases, but no longer removes punctuation, and instead of removing English
/// articles strips trailing "。" (<c>text.rstrip("。")</c>); whitespace is then collapsed as before
/// (<c>" ".join(text.split())</c>). The order is lower → rstrip("。") → whitespace, so "東京。 " keeps its "。".</item>
/// <item><c>compute_f1</c> counts characters instead of whitespace tokens: <c>list(normalize_answer(s))</c>, so the
/// spaces left by the whitespace step count as characters too.</item>
/// </list>
/// The rest is transformers' unpatched squad_metrics: F1 is 1 when both normalised answers are empty and 0 when only
/// one is; gold answers that normalise to the empty string are left out, and a question left with none is scored
/// against ""; the best score over the gold answers counts, and both means are in percent.
/// </summary>
/// <remarks>
/// Characters are Python's: code points (a character outside the BMP such as 𠮷 is one, not two UTF-16 units), lowered
/// with the full mapping (<see cref="UnicodeText.ToLower"/>), whitespace as <c>str.split()</c> sees it.
/// </remarks>
public static class JsquadMetrics
{
    /// <summary>The patched <c>normalize_answer</c>.</summary>
    public static string Normalize(string answer)
    {
        var lowered = new StringBuilder(answer.Length);
        Span<int> lower = stackalloc int[2];
        foreach (Rune rune in answer.EnumerateRunes())
            for (int i = 0, n = UnicodeText.ToLower(rune.Value, lower); i < n; i++) lowered.Append(char.ConvertFromUtf32(lower[i]));
        string stripped = lowered.ToString().TrimEnd('。');
        return string.Join(' ', stripped.Split(PythonWhitespace, StringSplitOptions.RemoveEmptyEntries));
    }

    public static bool ExactMatch(string prediction, string truth) => Normalize(prediction) == Normalize(truth);

    /// <summary>The patched <c>compute_f1</c>: F1 over the code points of both normalised answers.</summary>
    public static double F1(string prediction, string truth)
    {
        string[] predicted = Characters(Normalize(prediction)), gold = Characters(Normalize(truth));
        if (predicted.Length == 0 || gold.Length == 0) return predicted.Length == gold.Length ? 1 : 0;
        return SquadMetrics.SharedF1(predicted, gold);
    }

    /// <summary>Both scores over questions, in percent, as transformers' <c>squad_evaluate</c> computes them.</summary>
    public static SquadScores Score(IReadOnlyList<string> predictions, IReadOnlyList<IReadOnlyList<string>> answers)
    {
        ArgumentNullException.ThrowIfNull(answers);
        IReadOnlyList<string>[] scored = [.. answers.Select(a => a.Where(t => Normalize(t).Length > 0).ToArray() is { Length: > 0 } kept ? kept : [""])];
        return SquadMetrics.Score(predictions, scored, ExactMatch, F1);
    }

    static string[] Characters(string text) => [.. text.EnumerateRunes().Select(r => r.ToString())];

    // Python's str.isspace: .NET's white space plus the information separators U+001C–U+001F.
    static readonly char[] PythonWhitespace =
        [.. Enumerable.Range(0, 0x10000).Select(c => (char)c).Where(c => char.IsWhiteSpace(c) || c is >= '\x1c' and <= '\x1f')];
}
